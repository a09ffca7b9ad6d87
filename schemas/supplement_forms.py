"""Magnesium supplement forms: the keys ``supplement_doses.form`` holds, and their names.

A form key names one magnesium salt (``glycinate``, ``l-threonate``, ...). Readers turn
the free text of a log or a product name into a key with :func:`form_from_text`; the
chemistry of each form (formula, hydrate assumed, elemental fraction) lives in
``restless.models.supplements``. Pure Python: readers and models both import it.
"""

from __future__ import annotations

import re

FORM_ALIASES: dict[str, tuple[str, ...]] = {
    "oxide": ("oxide",),
    "hydroxide": ("hydroxide", "milk of magnesia"),
    "carbonate": ("carbonate",),
    "chloride": ("chloride",),
    "sulfate": ("sulfate", "sulphate", "epsom"),
    "citrate": ("citrate",),
    "glycinate": ("glycinate", "bisglycinate", "diglycinate"),
    "malate": ("malate",),
    "lactate": ("lactate",),
    "aspartate": ("aspartate",),
    "taurate": ("taurate", "taurinate"),
    "l-threonate": ("l-threonate", "threonate", "magtein"),
    "orotate": ("orotate",),
    "gluconate": ("gluconate",),
}
"""Form key -> the lower-case words that name it in free text ('Mg bisglycinate')."""

FORM_KEYS: tuple[str, ...] = tuple(FORM_ALIASES)
"""Every form key, in the order of :data:`FORM_ALIASES`."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(r"(?<![a-z])" + re.escape(alias).replace(r"\ ", r"\s+") + r"(?![a-z])"), key)
    for key, aliases in FORM_ALIASES.items()
    for alias in aliases
)


def form_from_text(text: str | None) -> str | None:
    """The form key named in free text, or None if it names none or more than one.

    'Magnesium Glycinate 500mg caps' -> 'glycinate'; 'Mg bisglycinate' -> 'glycinate';
    'citrate + oxide blend' -> None (a blend cannot be converted with one fraction).
    """
    if text is None:
        return None
    lowered = text.lower().replace("_", " ")
    found = {key for pattern, key in _PATTERNS if pattern.search(lowered)}
    return found.pop() if len(found) == 1 else None
