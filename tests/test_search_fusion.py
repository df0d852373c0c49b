"""Score fusion, by hand: RRF and linear on a small case, ties, and order independence."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pattern_db import InvalidData
from pattern_db.search import FusionMethod, vector_similarity
from pattern_db.search.fusion import Fused, Hit, fuse_linear, fuse_rrf, gate_factor, minmax


def m(id_: str) -> tuple[str, str]:
    return ("message", id_)


# Keyword list A, B, C (bm25 -4, -2, -1: normalised 1.0, 0.5, 0.25);
# vector list B, D, A (cosine distance 0.2, 0.4, 0.6: similarity 0.8, 0.6, 0.4).
FTS = [Hit(m("A"), 1, -4.0, 1.0), Hit(m("B"), 2, -2.0, 0.5), Hit(m("C"), 3, -1.0, 0.25)]
VEC = [Hit(m("B"), 1, 0.2, 0.8), Hit(m("D"), 2, 0.4, 0.6), Hit(m("A"), 3, 0.6, 0.4)]


def table(fused: list[Fused]) -> list[tuple[str, float, float]]:
    return [(f.key[1], f.fused_raw, f.fused_normalized) for f in fused]


def test_rrf_by_hand() -> None:
    # B: 1/62 + 1/61; A: 1/61 + 1/63; D: 1/62; C: 1/63; the maximum is 2/61.
    assert table(fuse_rrf([FTS, VEC], [1.0, 1.0], 60)) == [
        ("B", pytest.approx(0.0325224749), pytest.approx(0.9919354839)),  # 123/124
        ("A", pytest.approx(0.0322664585), pytest.approx(0.9841269841)),  # 124/126
        ("D", pytest.approx(0.0161290323), pytest.approx(0.4919354839)),  # 61/124
        ("C", pytest.approx(0.0158730159), pytest.approx(0.4841269841)),  # 61/126
    ]


def test_weighted_rrf_by_hand() -> None:
    # fts weight 2: A = 2/61 + 1/63 = 0.0486599011 beats B = 2/62 + 1/61 = 0.0486515071;
    # the maximum is 3/61.
    assert table(fuse_rrf([FTS, VEC], [2.0, 1.0], 60)) == [
        ("A", pytest.approx(0.0486599011), pytest.approx(0.9894179894)),
        ("B", pytest.approx(0.0486515071), pytest.approx(0.9892473118)),
        ("C", pytest.approx(0.0317460317), pytest.approx(0.6455026455)),
        ("D", pytest.approx(0.0161290323), pytest.approx(0.3279569892)),
    ]


def test_rrf_k_changes_the_scale() -> None:
    # k=1: B = 1/3 + 1/2, A = 1/2 + 1/4; maximum 1/2 + 1/2.
    assert table(fuse_rrf([FTS, VEC], [1.0, 1.0], 1))[:2] == [
        ("B", pytest.approx(0.8333333333), pytest.approx(0.8333333333)),
        ("A", pytest.approx(0.75), pytest.approx(0.75)),
    ]


def test_linear_by_hand() -> None:
    # Min-max per list: FTS -4, -2, -1 -> A 1, B 1/3, C 0; VEC .2, .4, .6 -> B 1, D .5, A 0.
    # Weights .5/.5: B = .5/3 + .5 = 2/3; A = .5; D = .25; C = 0.
    assert table(fuse_linear([FTS, VEC], [0.5, 0.5])) == [
        ("B", pytest.approx(2 / 3), pytest.approx(2 / 3)),
        ("A", pytest.approx(0.5), pytest.approx(0.5)),
        ("D", pytest.approx(0.25), pytest.approx(0.25)),
        ("C", 0.0, 0.0),
    ]
    # Weights 1 and 3 (sum 4): B = 1/3 + 3 -> 5/6; D = 1.5 -> 0.375; A = 1 -> 0.25; C = 0.
    assert table(fuse_linear([FTS, VEC], [1.0, 3.0])) == [
        ("B", pytest.approx(10 / 3), pytest.approx(5 / 6)),
        ("D", pytest.approx(1.5), pytest.approx(0.375)),
        ("A", pytest.approx(1.0), pytest.approx(0.25)),
        ("C", 0.0, 0.0),
    ]


def test_minmax_scales_raw_values_whatever_their_sign() -> None:
    assert minmax(FTS) == {m("A"): 1.0, m("B"): pytest.approx(1 / 3), m("C"): 0.0}
    assert minmax(VEC) == {m("B"): 1.0, m("D"): pytest.approx(0.5), m("A"): 0.0}
    # One hit, or hits all equal: each is the best of its list.
    assert minmax([Hit(m("A"), 1, 0.7, 0.65)]) == {m("A"): 1.0}
    assert minmax([Hit(m("A"), 1, -2.0, 1.0), Hit(m("B"), 2, -2.0, 1.0)]) == {
        m("A"): 1.0,
        m("B"): 1.0,
    }
    assert minmax([]) == {}


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(0.0, 0.0), (0.5, 0.0), (0.65, 0.5), (0.74, 0.8), (0.8, 1.0), (1.0, 1.0)],
)
def test_gate_factor(confidence: float, expected: float) -> None:
    assert gate_factor(confidence, 0.5, 0.8) == pytest.approx(expected)


def test_a_step_gate_keeps_all_or_nothing() -> None:
    assert [gate_factor(c, 0.6, 0.6) for c in (0.59, 0.6, 0.61)] == [0.0, 1.0, 1.0]


def test_fused_keeps_each_lists_hit() -> None:
    [b, *_] = fuse_rrf([FTS, VEC], [1.0, 1.0], 60)
    assert b.hits == (FTS[1], VEC[0])
    d = next(f for f in fuse_rrf([FTS, VEC], [1.0, 1.0], 60) if f.key == m("D"))
    assert d.hits == (None, VEC[1])


def test_keys_are_content_type_and_id_and_ties_break_by_type_then_id() -> None:
    fts = [Hit(("message", "x"), 1, -1.0, 1.0), Hit(("message", "b"), 2, -1.0, 1.0)]
    vec = [Hit(("memory_block", "x"), 1, 0.1, 0.9), Hit(("archival_entry", "z"), 2, 0.1, 0.9)]
    fused = fuse_rrf([fts, vec], [1.0, 1.0], 60)
    # the same id under two types stays two results; equal scores: content type, then id
    assert [f.key for f in fused] == [
        ("memory_block", "x"),
        ("message", "x"),
        ("archival_entry", "z"),
        ("message", "b"),
    ]
    half, second = 0.5, pytest.approx(61 / 124)
    assert [f.fused_normalized for f in fused] == [half, half, second, second]


def test_an_empty_list_still_counts_in_the_maximum() -> None:
    # Only the vector retriever found anything: its best hit is half of "top of both lists".
    fused = fuse_rrf([[], VEC], [1.0, 1.0], 60)
    assert fused[0].fused_normalized == pytest.approx(0.5)
    assert fuse_linear([[], VEC], [0.5, 0.5])[0].fused_normalized == pytest.approx(0.5)


def test_fusion_method_validation() -> None:
    assert FusionMethod.rrf() == FusionMethod(
        kind="rrf", k=60.0, fts_weight=1.0, vector_weight=1.0, keyword_gate=None
    )
    assert FusionMethod.linear() == FusionMethod(
        kind="linear", fts_weight=0.4, vector_weight=0.6, keyword_gate=(0.5, 0.8)
    )
    assert FusionMethod() == FusionMethod.linear()
    assert FusionMethod.linear(0.5, 0.5, keyword_gate=None).keyword_gate is None
    assert FusionMethod.rrf(keyword_gate=(0.2, 0.4)).keyword_gate == (0.2, 0.4)
    for bad in (
        lambda: FusionMethod.linear(keyword_gate=(0.9, 0.5)),
        lambda: FusionMethod.linear(keyword_gate=(-0.1, 0.5)),
        lambda: FusionMethod.linear(keyword_gate=(0.2, 1.5)),
        lambda: FusionMethod.linear(keyword_gate=(0.2,)),  # type: ignore[arg-type]
        lambda: FusionMethod.linear(keyword_gate="lo-hi"),  # type: ignore[arg-type]
        lambda: FusionMethod.rrf(k=0),
        lambda: FusionMethod.rrf(fts_weight=-1),
        lambda: FusionMethod.linear(0, 0),
        lambda: FusionMethod.linear(float("nan"), 1),
        lambda: FusionMethod.linear("x", 1),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidData):
            bad()


@pytest.mark.parametrize(
    ("distance", "metric", "expected"),
    [
        (0.0, "cosine", 1.0),
        (0.25, "cosine", 0.875),
        (1.0, "cosine", 0.5),
        (1.7, "cosine", 0.15),
        (2.0, "cosine", 0.0),
        (0.0, "l2", 1.0),
        (1.0, "l2", 0.5),
        (3.0, "l1", 0.25),
    ],
)
def test_vector_similarity(distance: float, metric: str, expected: float) -> None:
    assert vector_similarity(distance, metric) == pytest.approx(expected, abs=1e-12)


# -- properties ----------------------------------------------------------------------------------

_KEYS = st.tuples(st.sampled_from(["message", "memory_block", "archival_entry"]), st.text("abc"))


def _ranked(keys: list[tuple[str, str]]) -> list[Hit]:
    return [Hit(k, i, float(-i), 1.0 / i) for i, k in enumerate(keys, start=1)]


@given(
    st.lists(_KEYS, unique=True, max_size=12),
    st.lists(_KEYS, unique=True, max_size=12),
    st.floats(0.0, 5.0),
    st.floats(0.1, 5.0),
    st.randoms(use_true_random=False),
)
def test_fusion_keeps_every_key_and_ignores_input_order(
    fts_keys: list[tuple[str, str]],
    vec_keys: list[tuple[str, str]],
    w1: float,
    w2: float,
    rnd: random.Random,
) -> None:
    fts, vec = _ranked(fts_keys), _ranked(vec_keys)
    shuffled_fts, shuffled_vec = fts[:], vec[:]
    rnd.shuffle(shuffled_fts)
    rnd.shuffle(shuffled_vec)
    for fuse in (lambda ls, ws: fuse_rrf(ls, ws, 60), fuse_linear):
        fused = fuse([fts, vec], [w1, w2])
        assert {f.key for f in fused} == set(fts_keys) | set(vec_keys)
        assert len(fused) == len({f.key for f in fused})
        again = fuse([shuffled_fts, shuffled_vec], [w1, w2])
        swapped = fuse([shuffled_vec, shuffled_fts], [w2, w1])
        assert table(again) == table(fused)
        assert table(swapped) == table(fused)
        assert all(0.0 <= f.fused_normalized <= 1.0 for f in fused)
        keys = [(-f.fused_raw, f.key) for f in fused]
        assert keys == sorted(keys)
