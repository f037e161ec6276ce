"""Phrases like the competition's: phone numbers, street addresses, URLs, names (train) and a small pool of
English sentences drawn with many repeats (supplemental).

Components come from Faker (offline, seeded); everything is lower-cased and restricted to the 59-character
map. Train phrases have at most `MAX_TRAIN_CHARS` characters; supplemental sentences may be longer (the
real supplemental set has sentences over 32 characters, which round 2 filters out).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from faker import Faker

from data.tokenizer import CHAR_TO_ID

MAX_TRAIN_CHARS = 31
MAX_SUPPLEMENTAL_CHARS = 43
# Share of each train phrase kind (the real set is dominated by addresses, URLs and phone numbers).
TRAIN_KINDS: dict[str, float] = {"address": 0.33, "url": 0.27, "phone": 0.22, "name": 0.12, "misc": 0.06}
TLDS = ("com", "net", "org", "jp", "de", "co.uk", "io", "edu", "fr", "ru", "ne.jp", "info", "biz", "ca", "br")
DIRECTIONS = ("north", "south", "east", "west", "northeast", "southwest", "ne", "nw", "se", "sw")
# Whole phrases pandas would read back as NaN from a CSV (its default na_values, lower-cased).
NA_LIKE = frozenset({"", "nan", "-nan", "null", "n/a", "na", "none", "<na>", "#na", "#n/a", "1.#ind", "1.#qnan"})
PHONE_FORMATS = (
    "###-###-####", "+##-##-##-####-###", "(###) ###-####", "+1-###-###-####", "###.###.####",
    "##########", "+## ### ### ####", "+##-###-###-###", "###-####", "1-###-###-####",
)


def clean(text: str) -> str:
    """Lower-case and drop every character outside the 59-character map (collapsing double spaces)."""
    kept = "".join(c for c in text.lower() if c in CHAR_TO_ID)
    return " ".join(kept.split())


class TrainPhraseGenerator:
    """Seeded generator of competition-like train phrases."""

    def __init__(self, seed: int) -> None:
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.rng = np.random.default_rng([seed, 7])
        self.kinds = list(TRAIN_KINDS)
        self.cum_weights = np.cumsum(list(TRAIN_KINDS.values())) / sum(TRAIN_KINDS.values())
        self.words = sorted({w for w in map(clean, self.fake.get_words_list()) if w.isalpha()})

    def _word(self) -> str:
        return self.words[int(self.rng.integers(len(self.words)))]

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def _weighted(self, options: tuple[tuple[float, Callable[[], str]], ...]) -> str:
        """Call one of the (weight, maker) options, drawn in proportion to the weights."""
        r = self.rng.random() * sum(weight for weight, _ in options)
        for weight, make in options:
            if r < weight:
                return make()
            r -= weight
        return options[-1][1]()

    def _ordinal_street(self) -> str:
        n = int(self.rng.integers(1, 999))
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, "th")
        return f"{self.fake.building_number()} {self._pick(DIRECTIONS)} {n}{suffix} {self.fake.street_suffix()}"

    def address(self) -> str:
        """A street address ('4051 concord street north'), sometimes with a direction, suite or city."""
        f = self.fake
        return self._weighted((
            (0.45, lambda: f"{f.building_number()} {f.street_name()}"),
            (0.20, lambda: f"{f.building_number()} {f.street_name()} {self._pick(DIRECTIONS)}"),
            (0.15, self._ordinal_street),
            (0.12, f.street_address),
            (0.08, lambda: f"{f.city()}, {f.state_abbr()} {f.postcode()}"),
        ))

    def url(self) -> str:
        """A web address ('www.skipcity-dcf.jp', 'http://...', with a path, '~user' or a query)."""
        f, w = self.fake, self._word
        host = w() + (f"-{w()}" if self.rng.random() < 0.3 else "")
        domain = f"{host}.{self._pick(TLDS)}"
        return self._weighted((
            (0.35, lambda: f"www.{domain}"),
            (0.20, lambda: f"{self._pick(('http', 'https'))}://{domain}/{w()}"),
            (0.15, lambda: f"{domain}/{f.uri_path(deep=1)}"),
            (0.10, lambda: f"{domain}/~{f.user_name()}"),
            (0.10, lambda: f"{domain}/{w()}?{w()}={int(self.rng.integers(1, 99))}"),
            (0.10, lambda: f"http://www.{domain}"),
        ))

    def phone(self) -> str:
        """A phone number in one of PHONE_FORMATS ('909-205-3229', '+44-80-81-1546-502')."""
        fmt = self._pick(PHONE_FORMATS)
        digits = iter(self.rng.integers(0, 10, size=fmt.count("#")))
        return "".join(str(next(digits)) if c == "#" else c for c in fmt)

    def name(self) -> str:
        """A person's name, sometimes with an initial, a hyphen, an apostrophe or a title."""
        f = self.fake
        return self._weighted((
            (0.60, lambda: f"{f.first_name()} {f.last_name()}"),
            (0.15, lambda: f"{f.first_name()} {f.first_name()[0]}. {f.last_name()}"),
            (0.10, lambda: f"{f.last_name()}-{f.last_name()}"),
            (0.07, lambda: f"{f.first_name()} o'{f.last_name()}"),
            (0.08, lambda: f"{f.prefix()} {f.last_name()}"),
        ))

    def misc(self) -> str:
        """Rare forms that carry the remaining symbols (@ $ % # & [ * = ? ! ; : _ ( + ~)."""
        f, w = self.fake, self._word
        options = (
            lambda: f"{f.user_name()}@{w()}.{self._pick(TLDS)}",
            lambda: f"${self.rng.integers(1, 999)}.{self.rng.integers(10, 99)}",
            lambda: f"{self.rng.integers(1, 100)}% {w()}",
            lambda: f"#{w()}{w()}",
            lambda: f"{w()} & {w()}",
            lambda: f"[{w()}] {w()}",
            lambda: f"{w()}*{self.rng.integers(2, 99)}",
            lambda: f"{w()}={self.rng.integers(1, 999)}",
            lambda: f"{w()} {w()}?",
            lambda: f"{w()}! {w()}",
            lambda: f"{w()}; {w()} {w()}",
            lambda: f"{self.rng.integers(1, 12)}:{self.rng.integers(10, 59)} {w()}",
            lambda: f"{f.user_name()}_{self.rng.integers(1, 99)}",
            lambda: f"({self.rng.integers(100, 999)}) {w()}",
            lambda: f"{w()} + {w()}",
            lambda: f"~{f.user_name()}",
        )
        return self._weighted(tuple((1.0, make) for make in options))

    def __call__(self) -> str:
        """One phrase: lower case, only map characters, 1..MAX_TRAIN_CHARS long."""
        while True:
            kind = self.kinds[int(np.searchsorted(self.cum_weights, self.rng.random(), side='right'))]
            phrase = clean(getattr(self, kind)())
            if len(phrase) <= MAX_TRAIN_CHARS and phrase not in NA_LIKE:
                return phrase


# A small English grammar for the supplemental sentence pool.
_SUBJECTS = ("i", "we", "they", "my friend", "the teacher", "our family", "the children", "she", "he",
             "my sister", "the doctor", "everyone", "the old man", "my neighbor", "the students", "you")
_VERBS = ("like", "want", "need", "found", "lost", "bought", "painted", "cleaned", "watched", "remember",
          "forgot", "carried", "opened", "fixed", "sold", "cooked", "visited", "saw", "love", "read")
_OBJECTS = ("the red car", "a new house", "the blue door", "my keys", "the morning paper", "a good book",
            "the kitchen table", "the garden", "a cup of coffee", "the last train", "our dog", "the window",
            "a birthday cake", "the big city", "the winter coat", "fresh bread", "the small boat", "her phone",
            "the river", "a quiet place", "the football game", "an old photo", "the school bus", "his bicycle")
_TIMES = ("today", "yesterday", "last night", "every day", "this morning", "on sunday", "after lunch",
          "before dinner", "in the summer", "right now", "again", "at noon")
_ADJECTIVES = ("cold", "quiet", "beautiful", "expensive", "heavy", "bright", "broken", "delicious", "empty",
               "famous", "strange", "warm", "dark", "clean", "busy", "happy")
_NOUNS = ("weather", "house", "movie", "water", "music", "room", "street", "dinner", "office", "sky",
          "store", "meeting", "garden", "answer", "road", "party")
_TEMPLATES = (
    lambda r: f"{r(_SUBJECTS)} {r(_VERBS)} {r(_OBJECTS)}",
    lambda r: f"{r(_SUBJECTS)} {r(_VERBS)} {r(_OBJECTS)} {r(_TIMES)}",
    lambda r: f"the {r(_NOUNS)} is {r(_ADJECTIVES)}",
    lambda r: f"the {r(_NOUNS)} was very {r(_ADJECTIVES)} {r(_TIMES)}",
    lambda r: f"please open {r(_OBJECTS)}",
    lambda r: f"where is {r(_OBJECTS)}",
    lambda r: f"do not forget {r(_OBJECTS)}",
    lambda r: f"{r(_SUBJECTS)} will be home {r(_TIMES)}",
    lambda r: f"a {r(_ADJECTIVES)} {r(_NOUNS)} for everyone",
)


def supplemental_pool(n: int, seed: int) -> list[str]:
    """`n` distinct English sentences (deterministic for a seed), each at most MAX_SUPPLEMENTAL_CHARS long."""
    rng = np.random.default_rng([seed, 11])
    pool: dict[str, None] = {}
    for _ in range(200 * n):
        if len(pool) == n:
            return list(pool)
        words = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))](lambda seq: seq[int(rng.integers(len(seq)))])
        if len(words) <= MAX_SUPPLEMENTAL_CHARS:
            pool[words] = None
    raise ValueError(f"the sentence grammar cannot produce {n} distinct sentences (got {len(pool)})")


def draw_supplemental(pool: list[str], n: int, rng: np.random.Generator, zipf: float = 0.6) -> list[str]:
    """`n` phrases drawn from `pool` with Zipf-like weights (rank^-zipf), so sentences repeat many times."""
    weights = np.arange(1, len(pool) + 1, dtype=float) ** -zipf
    picks = rng.choice(len(pool), size=n, p=weights / weights.sum())
    return [pool[i] for i in picks]
