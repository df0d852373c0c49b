"""Plain query functions, one module per domain, each taking a db or a transaction first."""
