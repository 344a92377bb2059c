"""How long a question may be and still be POS-tagged with jieba's HMM.

jieba's HMM (for words outside its dictionary) runs a Viterbi over every run of unknown characters at about
1 ms a character: 2.6 s for 2,000 characters of jumbled text, on every request that sends them. Questions are
far shorter than this bound; a longer user text (a pasted paragraph) is tagged from the dictionary alone, in a
few ms. Passages (indexed text, not user input) keep the HMM.
"""

from __future__ import annotations

from functools import lru_cache

HMM_MAX_CHARS = 200


def use_hmm(user_text: str) -> bool:
    return len(user_text) <= HMM_MAX_CHARS


@lru_cache(maxsize=4096)
def posseg(text: str, hmm: bool = True) -> tuple[tuple[str, str], ...]:
    """jieba's (word, POS flag) pairs of a text, cached: a question is tagged by several readers."""
    import jieba.posseg as pseg  # loaded on first use: the tagger's dictionary costs about a second

    return tuple((p.word, p.flag) for p in pseg.cut(text, HMM=hmm))
