"""A LangGraph graph whose long-term memory is a pattern-db constellation.

Run: `.venv/bin/python examples/langgraph_store.py [DB]` (needs the `langgraph` extra). The node
reads what it remembers about the user, ranks it against the question by hybrid search, and
stores the new fact. Run it twice: the second run remembers the first.
"""

from __future__ import annotations

import sys
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

from pattern_db.integrations.langgraph import PatternStore

VOCAB = ["coffee", "tea", "morning", "evening", "walk", "music", "reminder", "dentist"]


def embed(texts: list[str]) -> list[list[float]]:
    """A toy embedder (word counts) so the example runs offline; use a real model in practice."""
    return [[t.lower().count(w) + 0.01 for w in VOCAB] for t in texts]


class State(TypedDict):
    """The graph's state: who asks, what to remember, what to look up."""

    user: str
    fact: str
    question: str
    answer: str


def remember(state: State, *, store: BaseStore) -> dict[str, str]:
    """Store the fact, then answer with the two facts most like the question."""
    namespace = ("users", state["user"], "facts")
    store.put(namespace, f"fact{len(store.search(namespace, limit=100))}", {"text": state["fact"]})
    best = store.search(namespace, query=state["question"], limit=2)
    return {"answer": "; ".join(f"{m.value['text']} ({m.score:.2f})" for m in best)}


def main() -> None:
    """Run the graph three times against the store at argv[1]."""
    path = sys.argv[1] if len(sys.argv) > 1 else "demo-data/langgraph.db"
    graph = StateGraph(State)
    graph.add_node("remember", remember)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", END)
    index = {"dims": len(VOCAB), "embed": embed, "fields": ["text"]}
    with PatternStore.from_conn_string(path, index=index) as store:  # type: ignore[arg-type]
        app = graph.compile(store=store)
        facts = ["Likes coffee in the morning", "A walk in the evening helps", "Dentist on Tue"]
        for fact in facts:
            state: State = {"user": "u1", "fact": fact, "question": "coffee?", "answer": ""}
            out = app.invoke(state)
            print(f"stored {fact!r:32} best matches: {out['answer']}")
        print("namespaces:", store.list_namespaces())


if __name__ == "__main__":
    main()
