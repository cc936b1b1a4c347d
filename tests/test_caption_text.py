"""Caption normalisation, vocabulary and the attention-guidance word rules (a data file)."""
import json

import pytest

from captioning.rules import RULES_FILE, load_rules, stem, target_arrays, word_targets
from captioning.text import Vocabulary, normalise_caption
from lexmotion.data.skeletons import PARTS


def test_normalisation_is_declared_and_simple():
    assert normalise_caption("A person walks Counter-Clockwise, then sits.") == "a person walks counter clockwise then sits"
    assert normalise_caption("He's turning 90°!") == "hes turning 90"
    assert normalise_caption("   ") == ""


def test_vocabulary_round_trip_and_min_count(tmp_path):
    vocab = Vocabulary.build(["a person walks", "a person runs", "a person walks"], min_count=2)
    assert vocab.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert "runs" not in vocab.stoi and "walks" in vocab.stoi
    ids = vocab.encode("A person runs!")
    assert ids[0] == vocab.bos and ids[-1] == vocab.eos and vocab.unk in ids
    assert vocab.decode(vocab.encode("a person walks")[1:]) == ["a", "person", "walks"]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(vocab.to_dict()))
    assert Vocabulary.load(path) == vocab


def test_rules_file_is_well_formed():
    raw = json.loads(RULES_FILE.read_text())
    lists = {k: v for k, v in raw.items() if not k.startswith("_")}
    assert set(lists) == {"root", "arms", "legs", "torso", "motion", "function"}
    rules = load_rules()
    # No stem may sit in both a beta=0 list and a beta=1 list.
    beta_one = rules["root"] | rules["arms"] | rules["legs"] | rules["torso"] | rules["motion"]
    assert not (rules["function"] & beta_one), sorted(rules["function"] & beta_one)
    # Part lists do not overlap each other.
    groups = ("root", "arms", "legs", "torso")
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            assert not (rules[a] & rules[b]), (a, b, sorted(rules[a] & rules[b]))


@pytest.mark.parametrize("caption, word, beta, parts", [
    ("a person waves the left hand", "waves", 1.0, ("left_arm",)),
    ("someone raises his right arm", "raises", 1.0, ("right_arm",)),
    ("a man claps with both hands", "claps", 1.0, ("left_arm", "right_arm")),
    ("a person kicks with the right leg", "kicks", 1.0, ("right_leg",)),
    ("someone walked forward", "walked", 1.0, ("root",)),
    ("a person turning around", "turning", 1.0, ("root",)),
    ("the person bows", "bows", 1.0, ("torso",)),
    ("a person walks slowly", "slowly", 1.0, ()),
    ("a person walks slowly", "person", 0.0, ()),
    ("a person walks slowly", "a", 0.0, ()),
    ("a person walks near a table", "table", None, ()),
])
def test_word_rules(caption, word, beta, parts):
    tokens = caption.split()
    target = word_targets(tokens)[tokens.index(word)]
    assert target["beta"] == beta
    assert set(target["parts"]) == set(parts)


def test_rules_match_by_stem():
    assert stem("waving") == stem("waves") == stem("wave")
    beta, known, parts, parts_known = target_arrays(["someone", "is", "waving"])
    assert known == [True, True, True] and beta == [0.0, 0.0, 1.0]
    assert parts_known == [False, False, True] and sum(parts[2]) == 2 and len(parts[2]) == len(PARTS)
