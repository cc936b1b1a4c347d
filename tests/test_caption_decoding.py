"""Greedy, beam and synergetic decoding against exhaustive search on known distributions."""
import itertools
import math

import pytest
import torch

from captioning.decoding import (
    ModelScorer,
    SynergyOptions,
    SynergyScorer,
    beam_search,
    greedy,
    synergy_log_probs,
    synergy_scores,
)
from captioning.text import Vocabulary

VOCAB = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"])
EOS = VOCAB.eos


class MarkovDecoder(torch.nn.Module):
    """Next-token log-probs depend on (clip, previous token) only: table (clips, V, V)."""

    def __init__(self, table):
        super().__init__()
        self.table = table

    def init_state(self, memory):
        return {"dummy": torch.zeros(len(memory["clip"]))}

    def step(self, prev, state, memory):
        return self.table[memory["clip"], prev], state, {}


class Markov(torch.nn.Module):
    def __init__(self, table):
        super().__init__()
        self.vocab, self.decoder = VOCAB, MarkovDecoder(table)

    def encode(self, motion, mask):
        return {"clip": motion[:, 0, 0].long()}


def _table(seed, clips=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(clips, len(VOCAB), len(VOCAB), generator=g) * 2


def _clips(n):
    motion = torch.zeros(n, 2, 1)
    motion[:, 0, 0] = torch.arange(n)
    return motion, torch.ones(n, 2, dtype=torch.bool)


def _log_probs(scorer, clip, seq):
    """Sum of log-probs of seq + <eos> for one clip, using the scorer's own step."""
    motion, mask = _clips(clip + 1)
    states = scorer.start(motion[clip:clip + 1], mask[clip:clip + 1])
    total, prev = 0.0, VOCAB.bos
    for tok in list(seq) + [EOS]:
        lp, states = scorer.step(torch.tensor([prev]), states)
        total += float(lp[0, tok])
        prev = tok
    return total


def _exhaustive(scorer, clip, max_len):
    words = [4, 5, 6]
    best = None
    for n in range(max_len + 1):
        for seq in itertools.product(words, repeat=n):
            score = _log_probs(scorer, clip, seq) / (n + 1)
            if best is None or score > best[0]:
                best = (score, list(seq))
    return best[1]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_wide_beam_equals_exhaustive_search(seed):
    scorer = ModelScorer(Markov(_table(seed)))
    motion, mask = _clips(3)
    found = beam_search(scorer, motion, mask, beam=40, max_len=3)
    for clip in range(3):
        assert found[clip] == _exhaustive(scorer, clip, 3)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_greedy_follows_the_argmax(seed):
    scorer = ModelScorer(Markov(_table(seed)))
    motion, mask = _clips(3)
    out = greedy(scorer, motion, mask, max_len=5)
    for clip in range(3):
        prev, expect = VOCAB.bos, []
        for _ in range(6):
            lp, _ = scorer.step(torch.tensor([prev]), scorer.start(motion[clip:clip + 1], mask[clip:clip + 1]))
            prev = int(lp.argmax())
            if prev == EOS:
                break
            expect.append(prev)
        assert out[clip] == expect[:len(out[clip])] and len(out[clip]) <= 6


def test_beam_batch_equals_one_clip_at_a_time():
    scorer = ModelScorer(Markov(_table(5)))
    motion, mask = _clips(3)
    batched = beam_search(scorer, motion, mask, beam=2, max_len=6)
    for clip in range(3):
        assert beam_search(scorer, motion[clip:clip + 1], mask[clip:clip + 1], beam=2, max_len=6)[0] == batched[clip]


def test_special_tokens_are_never_generated():
    table = torch.zeros(1, len(VOCAB), len(VOCAB))
    table[..., VOCAB.unk] = 10.0          # the model loves <unk>
    table[..., VOCAB.pad] = 9.0
    out = greedy(ModelScorer(Markov(table)), *_clips(1), max_len=4)[0]
    assert VOCAB.unk not in out and VOCAB.pad not in out and VOCAB.bos not in out


def test_synergy_formula_by_hand():
    p, q = torch.tensor([0.5]), torch.tensor([0.25])
    a1, a2, a3, a4, a5, a6 = 0.5, 0.2, 0.4, 0.8, 0.3, 2.0
    expected = (a1 * (math.exp(0.5) - 1) + a2 * 0.375 - a3 * abs(math.log(0.5) - math.log(0.25))
                + a4 * (0.125 ** a5) - a6 * 0.0625)
    assert float(synergy_scores(p, q)) == pytest.approx(expected, rel=1e-5)
    only_mean = SynergyOptions(components=(2,))
    assert float(synergy_scores(p, q, only_mean)) == pytest.approx(a2 * 0.375)


def test_pruning_keeps_tokens_near_the_top():
    p = torch.tensor([[0.70, 0.20, 0.05, 0.05]])
    q = torch.tensor([[0.60, 0.30, 0.08, 0.02]])
    out = synergy_log_probs(p.log(), q.log(), SynergyOptions(beta=0.2))
    kept = out.exp() > 1e-6
    # pbar = (0.65, 0.25, 0.065, 0.035); threshold 0.2 * 0.65 = 0.13 keeps the first two.
    assert kept.tolist() == [[True, True, False, False]]
    assert float(out.exp().sum()) == pytest.approx(1.0)


def test_synergy_of_a_model_with_itself_without_terms_is_the_model():
    m = Markov(_table(7))
    plain = ModelScorer(m)
    combo = SynergyScorer(m, m, SynergyOptions(components=(), prune=False))
    motion, mask = _clips(3)
    assert beam_search(plain, motion, mask, beam=3) == beam_search(combo, motion, mask, beam=3)


def test_synergy_refuses_different_vocabularies():
    from lexmotion.errors import LexmotionError
    other = Markov(_table(1))
    other.vocab = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", "x", "y", "z"])
    with pytest.raises(LexmotionError, match="same caption vocabulary"):
        SynergyScorer(Markov(_table(0)), other)


def test_no_repeat_blocks_repeated_ngrams():
    table = torch.full((1, len(VOCAB), len(VOCAB)), -5.0)
    table[0, VOCAB.bos, 4] = 5.0
    table[0, 4, 5] = 5.0          # a -> b -> a -> b ... forever
    table[0, 5, 4] = 5.0
    table[0, :, EOS] = 0.0
    scorer = ModelScorer(Markov(table))
    loops = greedy(scorer, *_clips(1), max_len=8)[0]
    assert loops[:4] == [4, 5, 4, 5]
    for decode in (lambda: greedy(scorer, *_clips(1), max_len=8, no_repeat=2),
                   lambda: beam_search(scorer, *_clips(1), beam=2, max_len=8, no_repeat=2)):
        seq = decode()
        pairs = list(itertools.pairwise(seq))
        assert len(pairs) == len(set(pairs)), seq
