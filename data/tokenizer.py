"""Character vocabulary, special token ids and phrase <-> id conversion (SPEC §2).

This module is THE place for token ids: nothing else in the repo writes 59/60/61/62/63/33 literally.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# The competition's character_to_prediction_index.json (59 characters -> ids 0..58), in id order.
CHARACTERS: str = " !#$%&'()*+,-./0123456789:;=?@[_abcdefghijklmnopqrstuvwxyz~"
CHAR_TO_ID: dict[str, int] = {c: i for i, c in enumerate(CHARACTERS)}
# NOTE(original): rev_character_map is built before the specials are added, so only ids 0..58 decode (Q10).
ID_TO_CHAR: dict[int, str] = {i: c for c, i in CHAR_TO_ID.items()}

N_CHARS: int = len(CHARACTERS)  # 59
PAD_ID: int = N_CHARS  # 59, 'P'
SOS_ID: int = N_CHARS + 1  # 60, 'S' (BOS / decoder start)
EOS_ID: int = N_CHARS + 2  # 61, 'E'
MASK_ID: int = N_CHARS + 3  # 62, decoder-input masking value only, never a target
VOCAB_SIZE: int = N_CHARS + 4  # 63 (decoder embedding and lm_head)
SPECIAL_TOKENS: dict[str, int] = {"P": PAD_ID, "S": SOS_ID, "E": EOS_ID}

MAX_PHRASE_LEN: int = 33  # label length: at most 32 characters + EOS
MAX_PHRASE_CHARS: int = MAX_PHRASE_LEN - 1  # 32
MAX_DECODE_STEPS: int = MAX_PHRASE_LEN  # greedy steps after BOS

DUMMY_PHRASE: str = "2 a-e -aroe"  # the fallback prediction of pp_1/pp_2 and the TFLite graph

assert len(CHARACTERS) == 59 and len(set(CHARACTERS)) == 59


class OutOfVocabularyError(ValueError):
    """A phrase contains a character outside the 59-character map."""


def check_phrase(phrase: str, where: str = "phrase") -> None:
    """Raise OutOfVocabularyError naming the offending characters of `phrase`."""
    bad = sorted({c for c in phrase if c not in CHAR_TO_ID})
    if bad:
        raise OutOfVocabularyError(f"{where}: {phrase!r} contains characters outside the 59-character map: {bad}")


def encode(phrase: str) -> list[int]:
    """Map characters to ids 0..58 (no specials); raises on out-of-vocabulary characters."""
    check_phrase(phrase)
    return [CHAR_TO_ID[c] for c in phrase]


# The dummy phrase's ids, computed once: the fallback's one-hot rows in both inference graphs (inference/).
DUMMY_PHRASE_IDS: tuple[int, ...] = tuple(encode(DUMMY_PHRASE))


def tokenize(phrase: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels of SPEC §2: first 32 ids + EOS, right-padded with PAD to 33; attention mask 1 on used positions."""
    ids = encode(phrase)[:MAX_PHRASE_CHARS] + [EOS_ID]
    token_ids = np.full(MAX_PHRASE_LEN, PAD_ID, dtype=np.int64)
    attention_mask = np.zeros(MAX_PHRASE_LEN, dtype=np.int64)
    token_ids[: len(ids)] = ids
    attention_mask[: len(ids)] = 1
    return token_ids, attention_mask


def decode(ids) -> str:
    """Join the characters of ids 0..58; every other id (PAD, SOS, EOS, MASK, unknown) decodes to ''."""
    return "".join(ID_TO_CHAR.get(int(i), "") for i in ids)


def write_character_map(path: str | Path) -> None:
    """Write the competition's character_to_prediction_index.json."""
    Path(path).write_text(json.dumps(CHAR_TO_ID, indent=1, ensure_ascii=False))


def read_character_map(path: str | Path) -> dict[str, int]:
    """Read a character map json and check that it is the competition's."""
    path = Path(path)
    try:
        mapping = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read character map ({e})") from e
    if mapping != CHAR_TO_ID:
        raise ValueError(f"{path}: character map differs from the competition's 59-character map")
    return mapping
