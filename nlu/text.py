"""Vietnamese text normalisation for Một Cửa Bot (standard library only).

Citizens type the same words in many ways: NFC or NFD Unicode, "hoà" or "hòa",
with or without diacritics, with chat shorthand ("ko dc", "bn tiền"). These
functions give the NLU model one view of all of them:

* ``clean``              - safe, display-preserving clean-up (NFC, no control/invisible chars)
* ``normalize_tones``    - one tone-mark placement (the "old" style underthesea uses: hòa, thủy)
* ``strip_diacritics``   - "Sổ đỏ" -> "So do"
* ``load_shorthand`` / ``expand_shorthand`` - chat shorthand from ``shorthand.tsv``
* ``normalize``          - the full lower-case view for the model
* ``fold``               - ``normalize`` without diacritics, so "sổ đỏ" == "so do"
* ``tokenize_with_spans``- tokens with exact offsets into the ORIGINAL text (for a Rasa tokenizer)
* ``fold_tokens``        - one folded lemma per token, shorthand resolved with its neighbours

Every function accepts any ``str`` (emoji, NUL, lone surrogates, very long input)
without raising.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

__all__ = [
    "clean",
    "normalize_tones",
    "strip_diacritics",
    "load_shorthand",
    "expand_shorthand",
    "normalize",
    "fold",
    "tokenize_with_spans",
    "fold_tokens",
    "DEFAULT_SHORTHAND_PATH",
]

DEFAULT_SHORTHAND_PATH = Path(__file__).with_name("shorthand.tsv")

# ---------------------------------------------------------------------------
# Character classes
# ---------------------------------------------------------------------------

# Control, format (zero-width space/joiner, BOM, soft hyphen, bidi marks),
# lone surrogates, private use and unassigned code points: never meaningful
# text for the bot, and surrogates would even break UTF-8 encoding later.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})

# Visible-category characters that render as nothing and are used to pad or
# disguise text: Hangul fillers, braille blank, combining grapheme joiner,
# Khmer inherent vowels and emoji variation selectors.
_INVISIBLE_EXTRA = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)


def _is_invisible(ch: str) -> bool:
    return ch in _INVISIBLE_EXTRA or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def _starts_word(ch: str) -> bool:
    # A token starts with a letter or a digit (never with a lone combining mark).
    return unicodedata.category(ch)[0] in "LN" and ch not in _INVISIBLE_EXTRA


def _is_word_char(ch: str) -> bool:
    # Combining marks belong to the word so NFD text ("o" + U+0301) stays one token.
    return unicodedata.category(ch)[0] in "LNM" and ch not in _INVISIBLE_EXTRA


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


# ---------------------------------------------------------------------------
# clean
# ---------------------------------------------------------------------------


def clean(text: str, max_len: int | None = None) -> str:
    """NFC, invisible/control characters -> spaces, whitespace collapsed, stripped.

    ``max_len`` truncates the cleaned text (never inside a base+combining-mark
    sequence). Never raises on a ``str``; ``None``/empty give "".
    """
    if not text:
        return ""
    # Replace junk before NFC so NFC never sees lone surrogates or BOMs mid-word.
    text = "".join(" " if (ch.isspace() or _is_invisible(ch)) else ch for ch in text)
    text = unicodedata.normalize("NFC", text)
    text = _drop_orphan_marks(text)
    text = " ".join(text.split())
    if max_len is not None:
        text = _truncate(text, max(0, max_len))
    return text


def _drop_orphan_marks(text: str) -> str:
    # A combining mark left after a space (its base was junk) would glue to
    # nothing, or to the wrong character once spaces collapse.
    out: list[str] = []
    for ch in text:
        if _is_mark(ch) and (not out or out[-1] == " "):
            continue
        out.append(ch)
    return "".join(out)


def _truncate(text: str, max_len: int) -> str:
    # Back off so a cut never separates a letter from its combining marks.
    if len(text) <= max_len:
        return text
    cut = max_len
    while cut > 0 and _is_mark(text[cut]):
        cut -= 1
    return text[:cut].rstrip()


# ---------------------------------------------------------------------------
# Tone marks
# ---------------------------------------------------------------------------

# The five Vietnamese tone marks (huyền, sắc, ngã, hỏi, nặng). Vowel-quality
# marks (breve, circumflex, horn) are NOT tones and stay on their letter.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")

# Initial consonants, longest first so "ngh" wins over "ng" and "n".
_ONSETS = (
    "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
    "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x",
)
_VOWELS = frozenset("aăâeêioôơuưy")
_QUALITY_VOWELS = frozenset("ăâêôơư")
_CODAS = frozenset({"", "c", "ch", "m", "n", "ng", "nh", "p", "t"})
# Vowel clusters that occur in Vietnamese syllables (without tone). Anything
# else ("email", "cafe", "ok") is not a Vietnamese syllable and is left alone.
_NUCLEI = frozenset(
    """
    a ă â e ê i o ô ơ u ư y
    ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ uy
    ưa ưi ươ ưu yê
    iêu yêu oai oay oeo uây uôi ươi ươu uya uyê uyu
    """.split()
)

_LETTER_RUN = re.compile(r"[^\W\d_]+")


def normalize_tones(text: str) -> str:
    """Put every tone mark where the old style puts it: hoà->hòa, thuỷ->thủy, qúy->quý.

    Works syllable by syllable, keeps case, returns NFC. A word that is not a
    valid Vietnamese syllable, or has zero or several tone marks, is unchanged,
    so words already in the old style are never damaged.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    return _LETTER_RUN.sub(lambda m: _retone_word(m.group()), text)


# Citizens and catalogue names use a few thousand distinct syllables: each is worked out once.
@functools.lru_cache(maxsize=65536)
def _retone_word(word: str) -> str:
    if word.isascii():  # no tone mark possible
        return word
    bases: list[str] = []
    tones: list[str] = []
    for ch in word:
        parts = unicodedata.normalize("NFD", ch)
        tones.extend(p for p in parts if p in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONE_MARKS))
        if len(base) != 1 or len(base.lower()) != 1:
            return word  # not a Vietnamese letter: do not touch
        bases.append(base)
    if len(tones) != 1:
        return word
    pos = _tone_position("".join(b.lower() for b in bases))
    if pos is None:
        return word
    bases[pos] = unicodedata.normalize("NFC", bases[pos] + tones[0])
    return "".join(bases)


def _split_syllable(s: str) -> tuple[str, str, str] | None:
    """Split a lower-case toneless syllable into (onset, nucleus, coda), or None."""
    onset = ""
    for cand in _ONSETS:
        if s.startswith(cand):
            # "gi"/"qu" are onsets only when another vowel follows
            # ("già", "quý"); in "gì", "gìn" the i is the vowel.
            if cand in ("gi", "qu") and not (len(s) > 2 and s[2] in _VOWELS):
                continue
            onset = cand
            break
    rest = s[len(onset):]
    n = 0
    while n < len(rest) and rest[n] in _VOWELS:
        n += 1
    nucleus, coda = rest[:n], rest[n:]
    if nucleus not in _NUCLEI or coda not in _CODAS:
        return None
    if not onset and s and s[0] not in _VOWELS:
        return None
    return onset, nucleus, coda


def _tone_position(s: str) -> int | None:
    """Index in ``s`` that carries the tone (old style), or None if not a syllable."""
    parts = _split_syllable(s)
    if parts is None:
        return None
    onset, nucleus, coda = parts
    if len(nucleus) == 1:
        idx = 0
    elif any(v in _QUALITY_VOWELS for v in nucleus):
        # ươ, uô, iê, yê, uyê, ưa, âu...: the (last) vowel with a quality mark.
        idx = max(i for i, v in enumerate(nucleus) if v in _QUALITY_VOWELS)
    elif coda:
        idx = len(nucleus) - 1  # hoàn, huỳnh, toán: last vowel before the coda
    elif len(nucleus) == 3:
        idx = 1  # ngoài, xoáy, khuỷu: the middle vowel
    else:
        idx = 0  # old style: hòa, khỏe, thủy (new style would be hoà, khoẻ, thuỷ)
    return len(onset) + idx


# ---------------------------------------------------------------------------
# Diacritics
# ---------------------------------------------------------------------------

# đ is a separate letter, not d + mark, so NFD does not remove it. Eth (ð/Ð)
# looks identical and is often typed by mistake for it.
_D_MAP = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics, including đ->d and Đ->D ("Sổ đỏ" -> "So do")."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    # Only the Latin combining block: marks of other scripts are left intact.
    kept = "".join(ch for ch in decomposed if not "\u0300" <= ch <= "\u036f")
    return unicodedata.normalize("NFC", kept)


# ---------------------------------------------------------------------------
# Token runs shared by expand_shorthand, normalize and tokenize_with_spans
# ---------------------------------------------------------------------------

# Joiners kept inside a token: "./-" as in codes (000.00.24.H08-241105-0012,
# PA-2025-000123, 12/05/2025), "," and ":" only between digits (1,5 ; 8:30).
_CODE_JOINERS = "./-"
_NUMBER_JOINERS = ",:"


def _runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of maximal word runs, joiners included."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if not _starts_word(text[i]):
            i += 1
            continue
        start = i
        i += 1
        while i < n:
            ch = text[i]
            if _is_word_char(ch):
                i += 1
            elif i + 1 < n and (
                (ch in _CODE_JOINERS and _starts_word(text[i + 1]))
                or (ch in _NUMBER_JOINERS and _is_digit(text[i - 1]) and _is_digit(text[i + 1]))
            ):
                i += 1
            else:
                break
        spans.append((start, i))
    return spans


def _split_run(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A run with a digit is a code/number and stays whole; otherwise split at joiners.

    So "PA-2025-000123" is one token but "xong.cho" (a missing space) is two.
    """
    run = text[start:end]
    joiners = _CODE_JOINERS + _NUMBER_JOINERS
    if not any(ch in joiners for ch in run) or any(_is_digit(ch) for ch in run):
        return [(start, end)]
    pieces, piece_start = [], start
    for i in range(start, end):
        if text[i] in joiners:
            pieces.append((piece_start, i))
            piece_start = i + 1
    pieces.append((piece_start, end))
    return pieces


def _token_spans(text: str) -> list[tuple[int, int]]:
    return [span for s, e in _runs(text) for span in _split_run(text, s, e)]


# ---------------------------------------------------------------------------
# Shorthand
# ---------------------------------------------------------------------------

# Diacritics-free forms of keys that are real words and must NOT be expanded:
# "hong" is usually "hỏng" (CCCD bị hỏng), "roi" is "rơi" (làm rơi giấy tờ).
_FOLD_BLOCKLIST = frozenset({"hong", "roi"})


@functools.lru_cache(maxsize=65536)
def _key(token: str) -> str:
    # The form under which shorthand is looked up: lower case, NFC, old-style tones.
    return normalize_tones(token.lower())


def load_shorthand(path: str | Path | None = None) -> dict[str, str]:
    """Read a shorthand table: ``shorthand<TAB>expansion`` per line, ``#`` comments.

    Keys are lower-cased and tone-normalised. Each key also gets its
    diacritics-free form ("đc" -> "dc") unless that form is an explicit key,
    is ambiguous between two keys, or is a real word (``_FOLD_BLOCKLIST``).
    A malformed or duplicate line raises ValueError: better to fail at start-up.
    """
    path = Path(path) if path is not None else DEFAULT_SHORTHAND_PATH
    table: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        short, sep, expansion = raw.partition("\t")
        key, value = _key(clean(short)), normalize_tones(clean(expansion))
        if not sep or not key or not value or " " in key:
            raise ValueError(f"{path}:{lineno}: expected 'shorthand<TAB>expansion', got {raw!r}")
        if key in table:
            raise ValueError(f"{path}:{lineno}: duplicate shorthand {key!r}")
        table[key] = value
    folded: dict[str, set[str]] = {}
    for key, value in table.items():
        bare = strip_diacritics(key)
        if bare != key and bare not in table and bare not in _FOLD_BLOCKLIST:
            folded.setdefault(bare, set()).add(value)
    table.update({bare: values.pop() for bare, values in folded.items() if len(values) == 1})
    return table


@functools.lru_cache(maxsize=1)
def _default_table() -> dict[str, str]:
    return load_shorthand()


# Context words are compared without diacritics so "bn tiền" and "bn tien" agree.
_BN_FRIEND_NEXT = frozenset(
    "oi a nhe nha co cho giup lam biet muon can dang da se hay xem gui oii".split()
)
_BN_FRIEND_PREV = frozenset(
    "on chao cua voi nho ok oke okie oki tks thanks thank hi hello".split()
)
_BN_AMOUNT_NEXT = frozenset(
    "ngay tien lau tuoi nam thang tuan gio phut nguoi lan cai ban bo trang to "
    "nghin ngan trieu dong phan".split()
)
_BN_AMOUNT_PREV = frozenset("mat het ton phi gia la tra nop dong khoang duoc con".split())
_PARTICLES_AFTER_VAY = frozenset("a ha nha nhe".split())  # "v ạ", "z à", "v nha"
_NEGATION_BEFORE_BIET = frozenset(
    "khong ko k kh hk hok hog chua da muon can ai moi de".split()
)


def _is_number(token: str | None) -> bool:
    return _is_digit(token[-1]) if token else False


def _resolve(key: str, default: str, prev: str | None, nxt: str | None) -> str | None:
    """Expansion for ``key`` given the neighbouring tokens (diacritics-free, lower case).

    Returns None to keep the token as typed. ``prev``/``nxt`` are None at the
    start/end of a clause (punctuation in between counts as a boundary).
    """
    bare = strip_diacritics(key)
    if bare == "bn":
        # "bn" is "bạn" (you) or "bao nhiêu" (how much/many).
        if nxt in _BN_FRIEND_NEXT or prev in _BN_FRIEND_PREV:
            return "bạn"  # bn ơi, bn có, cảm ơn bn
        if nxt in _BN_AMOUNT_NEXT or prev in _BN_AMOUNT_PREV or nxt is None or _is_number(nxt):
            return "bao nhiêu"  # bn ngày, mất bn tiền, lệ phí bn?
        return "bạn"  # pronoun is the more common use mid-sentence
    if bare in ("v", "z"):
        # Only "sao v", "thế v ạ": v/z are too ambiguous elsewhere (220 v, vitamin...).
        if prev is None or _is_number(prev):
            return None
        return default if (nxt is None or nxt in _PARTICLES_AFTER_VAY) else None
    if bare in ("k", "cm") and _is_number(prev):
        return None  # "50 k" is 50 nghìn, "20 cm" is centimetres
    if bare == "bt" and prev in _NEGATION_BEFORE_BIET:
        return "biết"  # "ko bt" = không biết, otherwise "bình thường"
    if bare == "ck" and nxt in ("tien", "phi", "le"):
        return "chuyển khoản"  # "ck tiền" is a bank transfer, otherwise "chồng"
    if bare == "dt" and nxt in ("dat", "thua"):
        return "diện tích"  # "dt đất" is land area, otherwise "điện thoại"
    return default


_CLAUSE_BREAK = re.compile(r"[.?!;,…\n]")


def expand_shorthand(text: str, table: dict[str, str] | None = None) -> str:
    """Replace whole-token chat shorthand ("ko dc" -> "không được").

    Case-insensitive; diacritics-free keys match too ("dc"). Codes such as
    "HS-2025-01" are never touched. Expansions are inserted in lower case and
    the rest of the text (spacing, punctuation) is kept as is. ``table`` is a
    dict as returned by ``load_shorthand`` (default: nlu/shorthand.tsv).
    """
    if not text:
        return ""
    table = _default_table() if table is None else table
    spans: list[tuple[int, int]] = []
    for s, e in _runs(text):
        # "a/c" is a key as a whole; otherwise look at the pieces of the run.
        spans.extend([(s, e)] if _key(text[s:e]) in table else _split_run(text, s, e))
    keys = [_key(text[s:e]) for s, e in spans]
    bare = [strip_diacritics(k) for k in keys]

    out, last = [], 0
    for i, (s, e) in enumerate(spans):
        if keys[i] not in table:
            continue
        prev = bare[i - 1] if i > 0 and not _CLAUSE_BREAK.search(text[spans[i - 1][1]:s]) else None
        nxt = bare[i + 1] if i + 1 < len(spans) and not _CLAUSE_BREAK.search(text[e:spans[i + 1][0]]) else None
        expansion = _resolve(keys[i], table[keys[i]], prev, nxt)
        if expansion is not None:
            out.append(text[last:s])
            out.append(expansion)
            last = e
    out.append(text[last:])
    return "".join(out)


# ---------------------------------------------------------------------------
# Views for the model
# ---------------------------------------------------------------------------


def normalize(text: str) -> str:
    """The model's view: clean, lower case, old-style tones, shorthand expanded,
    punctuation and emoji removed (codes and numbers kept), single spaces."""
    text = normalize_tones(clean(text).lower())
    text = expand_shorthand(text)
    return " ".join(text[s:e] for s, e in _token_spans(text))


def fold(text: str) -> str:
    """``normalize`` without diacritics, so "Sổ Đỏ" and "so do" compare equal."""
    return strip_diacritics(normalize(text))


def tokenize_with_spans(text: str) -> list[tuple[str, int, int]]:
    """Tokens of the ORIGINAL text with offsets: ``text[start:end] == token``.

    Words (including NFD combining marks), numbers and codes
    ("000.00.24.H08-241105-0012") are tokens; whitespace, punctuation, emoji and
    invisible characters are skipped. Tokens are not normalised: use
    ``normalize(token)`` as the lemma.
    """
    if not text:
        return []
    return [(text[s:e], s, e) for s, e in _token_spans(text)]


def fold_tokens(tokens: list[str]) -> list[str]:
    """One diacritics-free lemma per token of ``tokenize_with_spans`` (same length, same order).

    Shorthand is resolved with the neighbouring tokens as context, so in
    ["bn", "ngày"] "bn" folds to "bao nhieu" and in ["bn", "ơi"] to "ban". A lemma
    may hold several words ("dk" -> "dang ky"). Punctuation is not visible in a
    token list, so clause boundaries do not stop the context here.
    """
    table = _default_table()
    keys = [_key(clean(t)) for t in tokens]
    bare = [strip_diacritics(k) for k in keys]
    lemmas = []
    for i, token in enumerate(tokens):
        if keys[i] not in table:
            lemmas.append(fold(token))
            continue
        prev = bare[i - 1] if i > 0 else None
        nxt = bare[i + 1] if i + 1 < len(tokens) else None
        expansion = _resolve(keys[i], table[keys[i]], prev, nxt)
        lemmas.append(strip_diacritics(expansion if expansion is not None else keys[i]))
    return lemmas
