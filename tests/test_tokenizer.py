"""Character map, special ids and label construction (data/tokenizer.py, SPEC §2)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from data import tokenizer as tok


def test_character_map_matches_spec():
    spec = {" ": 0, "!": 1, "#": 2, "$": 3, "/": 14, "0": 15, "9": 24, ":": 25, "@": 29, "[": 30, "_": 31,
            "a": 32, "z": 57, "~": 58}
    assert all(tok.CHAR_TO_ID[c] == i for c, i in spec.items())
    assert len(tok.CHAR_TO_ID) == 59 and sorted(tok.CHAR_TO_ID.values()) == list(range(59))


def test_special_ids():
    assert (tok.PAD_ID, tok.SOS_ID, tok.EOS_ID, tok.MASK_ID, tok.VOCAB_SIZE) == (59, 60, 61, 62, 63)
    assert tok.MAX_PHRASE_LEN == 33


def test_tokenize_pads_with_eos_and_mask():
    ids, mask = tok.tokenize("hi 2")
    assert ids.dtype == np.int64 and mask.dtype == np.int64 and ids.shape == mask.shape == (33,)
    assert ids[:5].tolist() == [39, 40, 0, 17, tok.EOS_ID]
    assert (ids[5:] == tok.PAD_ID).all()
    assert mask.tolist() == [1] * 5 + [0] * 28


@pytest.mark.parametrize("n_chars", [31, 32, 33, 45])
def test_tokenize_truncates_to_32_then_eos(n_chars):
    phrase = ("abcdefghij" * 5)[:n_chars]
    ids, mask = tok.tokenize(phrase)
    kept = min(n_chars, 32)
    assert ids[:kept].tolist() == [tok.CHAR_TO_ID[c] for c in phrase[:kept]]
    assert ids[kept] == tok.EOS_ID and mask.sum() == kept + 1
    assert (ids[kept + 1:] == tok.PAD_ID).all()


def test_dummy_phrase_ids():
    assert tok.DUMMY_PHRASE == "2 a-e -aroe"
    assert tok.encode(tok.DUMMY_PHRASE) == [17, 0, 32, 12, 36, 0, 12, 32, 49, 46, 36]


def test_decode_drops_special_and_unknown_ids():
    ids = [tok.SOS_ID, 39, 40, tok.EOS_ID, tok.PAD_ID, tok.MASK_ID, 100, 0, 58]
    assert tok.decode(ids) == "hi ~"
    assert tok.decode(np.array(tok.encode("www.abc-1.jp"))) == "www.abc-1.jp"


def test_out_of_vocabulary_error_names_the_character():
    with pytest.raises(tok.OutOfVocabularyError, match=r"\['A', 'é'\]"):
        tok.tokenize("Aé ok")


def test_character_map_file_round_trip(tmp_path):
    path = tmp_path / "character_to_prediction_index.json"
    tok.write_character_map(path)
    assert tok.read_character_map(path) == tok.CHAR_TO_ID
    path.write_text(json.dumps({"a": 0}))
    with pytest.raises(ValueError, match="differs from the competition's"):
        tok.read_character_map(path)
