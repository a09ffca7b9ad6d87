"""A deterministic demo inbox for one participant, shaped like real exports.

Why: the pipeline needs an end-to-end example that walks through every reader (Fitbit
account export, Garmin FIT, Cronometer, supplement log), a DST change, a device switch,
incomplete food logs, blank nutrient cells and a planted magnesium-restlessness
association, without shipping anyone's personal data.

The person (``demo01``, female, born 1979, Europe/Berlin) is simulated once, minute by
minute, and every export is derived from that one truth, so the files agree with each
other the way a real person's exports do:

* nights 1-30: a Fitbit (account-export JSON: monthly ``sleep-*.json``, daily
  ``steps-*.json`` and ``heart_rate-*.json`` in local naive time), then a Garmin watch
  (one FIT sleep file per night, one FIT monitoring file per local day);
* every day: Cronometer ``servings.csv`` and ``dailysummary.csv``; from day 40 a
  magnesium glycinate in ``supplement_log.csv``; from day 46 a multivitamin in Cronometer;
* three of the last two weeks' Garmin nights: a left-ankle accelerometer (an Axivity AX3
  ``.cwa`` recording at 25 Hz in ``left/``, worn from bedtime to wake) with planted
  periodic limb movements (:mod:`restless.demo.ankle`), more of them after a day with
  less magnesium (:func:`_plan_ankle`).

The planted effect (:func:`_expected_restless_min`): expected restless minutes fall by
about 30% per extra 100 mg of total magnesium that day (food as really eaten +
supplements), rise with caffeine after 14:00 and with alcohol, and carry log-normal
night-to-night noise plus the clustering of leg movements. It is an association in 75
nights of one person, not evidence that magnesium works, and the demo is built so the
pipeline's report says exactly that.

Same seed, same bytes: every random draw comes from ``random.Random`` streams seeded
from ``seed``; FIT ``time_created`` is derived from the data, never from the clock.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from restless.demo.ankle import FS as ANKLE_FS
from restless.demo.ankle import AnkleNight, plan_ankle_night, synthesise
from restless.demo.cwa_writer import write_cwa_file
from restless.demo.fit_writer import MonitoringEpoch, write_monitoring_file, write_sleep_file

PARTICIPANT_ID = "demo01"
TIMEZONE = "Europe/Berlin"
SEX = "female"
BIRTH_YEAR = 1979
FIRST_NIGHT = date(2026, 2, 1)  # 75 nights from here cross the 2026-03-29 spring-forward

SUPPLEMENT_HEADER = ("date", "time", "product", "form", "amount_mg", "amount_basis")
SUPPLEMENT_PRODUCT = "Magnesium Bisglycinate 1000 mg capsules"
SUPPLEMENT_COMPOUND_MG = 1000
GLYCINATE_ELEMENTAL_FRACTION = 0.141  # SCIENCE.md section 7, anhydrous bisglycinate
SUPPLEMENT_ELEMENTAL_LABEL_MG = 140  # the one row logged from the label's elemental line

GARMIN_SERIAL = 3_912_345_678
ANKLE_SIDE = "left"
ANKLE_NIGHTS = 3
_TZ = ZoneInfo(TIMEZONE)

# Cronometer columns: the order of a current (2022) export, nutrient subset kept.
NUTRIENTS = (
    "Energy (kcal)",
    "Alcohol (g)",
    "Caffeine (mg)",
    "Water (g)",
    "Calcium (mg)",
    "Iron (mg)",
    "Magnesium (mg)",
    "Potassium (mg)",
    "Sodium (mg)",
    "Zinc (mg)",
    "Carbs (g)",
    "Fiber (g)",
    "Sugars (g)",
    "Fat (g)",
    "Protein (g)",
)
SERVINGS_HEADER = ("Day", "Time", "Group", "Food Name", "Amount", *NUTRIENTS, "Category")
DAILY_HEADER = ("Date", *NUTRIENTS, "Completed")
GROUPS = ("Breakfast", "Lunch", "Dinner", "Snacks")
_MG = NUTRIENTS.index("Magnesium (mg)")
_KCAL = NUTRIENTS.index("Energy (kcal)")
_CAFFEINE = NUTRIENTS.index("Caffeine (mg)")
_ALCOHOL = NUTRIENTS.index("Alcohol (g)")


@dataclass(frozen=True)
class DemoInfo:
    """What a caller needs to register the demo participant and find its nights."""

    participant_id: str
    timezone: str
    sex: str
    birth_year: int
    inbox: Path
    first_night: date
    last_night: date
    ankle_nights: dict[date, AnkleNight] = field(default_factory=dict)
    """Night -> the planted left-ankle recording of that night (the truth for PLMs)."""


# --------------------------------------------------------------------------- foods


@dataclass(frozen=True)
class _Food:
    """One food as Cronometer lists it: per-unit nutrients in NUTRIENTS order (None = blank).

    ``true_magnesium_mg`` is what a custom recipe without micronutrient data really holds:
    the person eats it, the export leaves the cell blank.
    """

    name: str
    unit: str
    category: str
    per_unit: tuple[float | None, ...]
    true_magnesium_mg: float | None = None

    def magnesium_truth(self) -> float:
        """Magnesium per unit as eaten (export value, else the recipe's hidden value)."""
        value = self.per_unit[_MG]
        return value if value is not None else (self.true_magnesium_mg or 0.0)


def _f(
    name: str, unit: str, category: str, *values: float | None, true_mg: float | None = None
) -> _Food:
    if len(values) != len(NUTRIENTS):
        raise ValueError(f"{name}: {len(values)} values for {len(NUTRIENTS)} nutrients")
    return _Food(name, unit, category, tuple(values), true_mg)


_N = None  # a blank Cronometer cell
# Per-unit values from USDA FoodData Central (SR Legacy), rounded.
# kcal, alc, caf, water, Ca, Fe, Mg, K, Na, Zn, carbs, fiber, sugars, fat, protein
FOODS: dict[str, _Food] = {
    f.name: f
    for f in (
        _f("Oatmeal, Cooked with Water", "cup", "Breakfast Cereals",
           166, 0, 0, 197, 21, 2.11, 63.2, 164, 9, 2.34, 28.1, 4.0, 0.6, 3.6, 5.9),
        _f("Milk, Whole, 3.25%", "cup", "Dairy and Egg Products",
           149, 0, 0, 216, 276, 0.07, 24.4, 322, 105, 0.90, 11.7, 0, 12.3, 7.9, 7.7),
        _f("Banana, Raw", "medium", "Fruits and Fruit Juices",
           105, 0, 0, 88, 5.9, 0.31, 31.9, 422, 1.2, 0.18, 27.0, 3.1, 14.4, 0.4, 1.3),
        _f("Apple, Raw", "medium", "Fruits and Fruit Juices",
           95, 0, 0, 156, 11, 0.22, 9.1, 195, 1.8, 0.07, 25.1, 4.4, 18.9, 0.3, 0.5),
        _f("Coffee, Brewed", "cup", "Beverages",
           2.4, 0, 94.8, 235, 4.7, 0.05, 7.1, 116, 4.7, 0.05, 0, 0, 0, 0.05, 0.28),
        _f("Black Tea, Brewed", "cup", "Beverages",
           2.4, 0, 47.4, 236, 0, 0.05, 7.1, 88, 7.1, 0.05, 0.7, 0, 0, 0, 0),
        _f("Red Wine", "glass (5 fl oz)", "Beverages",
           125, 15.6, 0, 127, 11.8, 0.68, 17.6, 187, 5.9, 0.21, 3.8, 0, 0.9, 0, 0.1),
        _f("Almonds", "oz", "Nut and Seed Products",
           164, 0, 0, 1.3, 76, 1.05, 76.5, 208, 0.3, 0.88, 6.1, 3.5, 1.2, 14.2, 6.0),
        _f("Pumpkin Seeds, Hulled, Dried", "oz", "Nut and Seed Products",
           158, 0, 0, 1.5, 13, 2.47, 156, 229, 2.0, 2.2, 3.0, 1.7, 0.4, 13.9, 8.6),
        _f("Dark Chocolate, 70-85% Cacao", "oz", "Sweets",
           170, 0, 22.7, 0.4, 20.5, 3.37, 64.6, 203, 5.6, 0.93, 13.0, 3.1, 6.8, 12.1, 2.2),
        _f("Spinach, Cooked", "cup", "Vegetables and Vegetable Products",
           41, 0, 0, 164, 245, 6.43, 157, 839, 126, 1.37, 6.8, 4.3, 0.8, 0.5, 5.4),
        _f("Broccoli, Cooked", "cup", "Vegetables and Vegetable Products",
           55, 0, 0, 139, 62, 1.05, 32.8, 457, 64, 0.70, 11.2, 5.1, 2.2, 0.6, 3.7),
        _f("Potato, Boiled", "medium", "Vegetables and Vegetable Products",
           144, 0, 0, 129, 13, 0.52, 36.7, 548, 8, 0.45, 33.4, 3.0, 1.5, 0.2, 2.9),
        _f("Carrots, Raw", "medium", "Vegetables and Vegetable Products",
           25, 0, 0, 53, 20, 0.18, 7.3, 195, 42, 0.14, 5.8, 1.7, 2.9, 0.1, 0.6),
        _f("Black Beans, Cooked", "cup", "Legumes and Legume Products",
           227, 0, 0, 113, 46, 3.61, 120, 611, 1.7, 1.93, 40.8, 15.0, 0.6, 0.9, 15.2),
        _f("Hummus", "tbsp", "Legumes and Legume Products",
           25, 0, 0, 9.6, 5.9, 0.37, 10.7, 34, 57, 0.23, 2.1, 0.9, 0.04, 1.4, 1.2),
        _f("Brown Rice, Cooked", "cup", "Cereal Grains and Pasta",
           218, 0, 0, 136, 19.5, 0.82, 85.8, 154, 9.8, 1.23, 45.8, 3.5, 0.7, 1.6, 4.5),
        _f("Spaghetti, Cooked", "cup", "Cereal Grains and Pasta",
           221, 0, 0, 87, 10, 1.81, 25.2, 62, 1.4, 0.70, 43.2, 2.5, 0.8, 1.3, 8.1),
        _f("Whole Wheat Bread", "slice", "Baked Products",
           81, 0, 0, 12, 52, 0.81, 24.3, 81, 132, 0.60, 13.8, 1.9, 1.4, 1.1, 4.0),
        _f("Rye Bread", "slice", "Baked Products",
           83, 0, 0, 12, 23, 0.91, 13.4, 53, 193, 0.36, 15.5, 1.9, 1.2, 1.1, 2.7),
        _f("Gouda Cheese", "slice", "Dairy and Egg Products",
           101, 0, 0, 11.6, 198, 0.07, 8.1, 34, 232, 1.11, 0.6, 0, 0.6, 7.8, 7.1),
        _f("Yogurt, Plain, Whole Milk", "cup", "Dairy and Egg Products",
           149, 0, 0, 215, 296, 0.12, 29.4, 380, 113, 1.45, 11.4, 0, 11.4, 8.0, 8.5),
        _f("Egg, Whole, Boiled", "large", "Dairy and Egg Products",
           78, 0, 0, 37, 25, 0.59, 5.0, 63, 62, 0.53, 0.6, 0, 0.6, 5.3, 6.3),
        _f("Atlantic Salmon, Cooked", "fillet", "Finfish and Shellfish Products",
           280, 0, 0, 92, 23, 0.52, 46, 591, 94, 0.66, 0, 0, 0, 12.4, 30.1),
        _f("Chicken Breast, Roasted", "g", "Poultry Products",
           1.65, 0, 0, 0.65, 0.15, 0.0104, 0.29, 2.56, 0.74, 0.01, 0, 0, 0, 0.036, 0.31),
        _f("Pizza Margherita, Frozen", "slice", "Fast Foods",
           285, 0, 0, 45, 190, 2.5, 24, 180, 640, 1.5, 35.0, 2.5, 3.8, 10.0, 12.0),
        # Custom recipes: Cronometer exports only what the user typed in (no minerals).
        _f("Lentil Soup (my recipe)", "serving", "",
           240, _N, _N, _N, _N, _N, _N, _N, _N, _N, 34.0, 11.0, _N, 5.0, 14.0, true_mg=70),
        _f("Muesli with Nuts (my recipe)", "serving", "",
           310, _N, _N, _N, _N, _N, _N, _N, _N, _N, 42.0, 7.0, 12.0, 11.0, 9.0, true_mg=95),
        _f("Multivitamin, Women's Daily", "Tablet", "Supplements",
           0, _N, _N, _N, 200, 8.0, 50, 80, _N, 8.0, _N, _N, _N, _N, _N),
    )
}  # fmt: skip

# Meals: (food, quantities to choose from). One plan per meal, picked with weights.
_Plan = tuple[tuple[str, tuple[float, ...]], ...]
BREAKFASTS: tuple[tuple[float, _Plan], ...] = (
    (3, (("Oatmeal, Cooked with Water", (1.0, 1.5)), ("Milk, Whole, 3.25%", (0.5,)),
         ("Banana, Raw", (1.0,)), ("Coffee, Brewed", (1.0, 2.0)))),
    (2, (("Muesli with Nuts (my recipe)", (1.0,)), ("Milk, Whole, 3.25%", (1.0,)),
         ("Coffee, Brewed", (1.0,)))),
    (3, (("Whole Wheat Bread", (2.0,)), ("Gouda Cheese", (1.0, 2.0)),
         ("Egg, Whole, Boiled", (1.0,)), ("Coffee, Brewed", (1.0, 2.0)))),
    (2, (("Yogurt, Plain, Whole Milk", (1.0,)), ("Pumpkin Seeds, Hulled, Dried", (0.5, 1.0)),
         ("Apple, Raw", (1.0,)), ("Black Tea, Brewed", (1.0,)))),
)  # fmt: skip
LUNCHES: tuple[tuple[float, _Plan], ...] = (
    (3, (("Rye Bread", (2.0,)), ("Hummus", (2.0, 3.0, 4.0)), ("Carrots, Raw", (1.0,)),
         ("Apple, Raw", (1.0,)))),
    (2, (("Lentil Soup (my recipe)", (1.5,)), ("Whole Wheat Bread", (1.0,)))),
    (2, (("Black Beans, Cooked", (0.75, 1.0)), ("Brown Rice, Cooked", (1.0,)),
         ("Spinach, Cooked", (0.5,)))),
    (2, (("Spaghetti, Cooked", (1.5, 2.0)), ("Gouda Cheese", (1.0,)))),
    (2, (("Pizza Margherita, Frozen", (2.0, 3.0)),)),
)  # fmt: skip
DINNERS: tuple[tuple[float, _Plan], ...] = (
    (2, (("Atlantic Salmon, Cooked", (1.0,)), ("Potato, Boiled", (1.0, 2.0)),
         ("Broccoli, Cooked", (1.0,)))),
    (2, (("Chicken Breast, Roasted", (120.0, 150.0)), ("Brown Rice, Cooked", (1.0,)),
         ("Spinach, Cooked", (0.5, 1.0)))),
    (2, (("Spaghetti, Cooked", (2.0,)), ("Gouda Cheese", (1.0,)))),
    (3, (("Rye Bread", (2.0, 3.0)), ("Gouda Cheese", (2.0,)), ("Carrots, Raw", (1.0,)),
         ("Egg, Whole, Boiled", (1.0,)))),
    (1, (("Lentil Soup (my recipe)", (2.0,)), ("Rye Bread", (1.0,)))),
    (1, (("Pizza Margherita, Frozen", (3.0,)),)),
)  # fmt: skip
AFTERNOON_SNACKS: tuple[tuple[float, _Plan], ...] = (
    (3, (("Coffee, Brewed", (1.0,)), ("Apple, Raw", (1.0,)))),
    (2, (("Black Tea, Brewed", (1.0,)), ("Almonds", (1.0,)))),
    (2, (("Coffee, Brewed", (1.0,)), ("Dark Chocolate, 70-85% Cacao", (0.5, 1.0)))),
    (2, (("Banana, Raw", (1.0,)),)),
)  # fmt: skip
EVENING_SNACKS: tuple[tuple[float, _Plan], ...] = (
    (2, (("Dark Chocolate, 70-85% Cacao", (0.5, 1.0)),)),
    (2, (("Yogurt, Plain, Whole Milk", (0.5, 1.0)),)),
    (1, (("Almonds", (0.5, 1.0)),)),
    (2, (("Apple, Raw", (1.0,)),)),
)  # fmt: skip


@dataclass(frozen=True)
class _Serving:
    """One logged row: nutrients as integer hundredths so sums are exact."""

    day: date
    time_local: time | None
    group: str
    food: _Food
    quantity: float

    @property
    def cents(self) -> tuple[int | None, ...]:
        return tuple(
            None if v is None else round(v * self.quantity * 100) for v in self.food.per_unit
        )

    @property
    def amount(self) -> str:
        return f"{self.quantity:.2f} {self.food.unit}"


@dataclass
class _Day:
    """One local day: what was eaten (all of it) and what made it into the log."""

    day: date
    eaten: list[_Serving]
    logged: list[_Serving]
    supplement_row: tuple[str, int, str] | None = None  # (time, amount_mg, basis)
    supplement_elemental_mg: float = 0.0

    @property
    def true_magnesium_mg(self) -> float:
        food = sum(s.food.magnesium_truth() * s.quantity for s in self.eaten)
        return food + self.supplement_elemental_mg

    @property
    def caffeine_after_14_mg(self) -> float:
        return sum(
            (s.food.per_unit[_CAFFEINE] or 0) * s.quantity
            for s in self.eaten
            if s.time_local is not None and s.time_local >= time(14, 0)
        )

    @property
    def alcohol_g(self) -> float:
        return sum((s.food.per_unit[_ALCOHOL] or 0) * s.quantity for s in self.eaten)


def _pick(rng: random.Random, options: tuple[tuple[float, _Plan], ...]) -> _Plan:
    weights = [w for w, _ in options]
    return rng.choices([p for _, p in options], weights=weights)[0]


def _meal(
    rng: random.Random, day: date, group: str, plan: _Plan, at: time, blank_time_p: float = 0.12
) -> list[_Serving]:
    """A meal's rows; minutes drift a little between items, some rows carry no time."""
    rows = []
    minute = at.hour * 60 + at.minute
    for name, quantities in plan:
        shown = None if rng.random() < blank_time_p else time(minute // 60, minute % 60)
        rows.append(_Serving(day, shown, group, FOODS[name], rng.choice(quantities)))
        minute = min(minute + rng.randint(0, 4), 23 * 60 + 59)
    return rows


def _clock(rng: random.Random, start: tuple[int, int], spread_min: int) -> time:
    minute = start[0] * 60 + start[1] + rng.randint(0, spread_min)
    return time(minute // 60, minute % 60)


def _plan_food(
    rng: random.Random, day: date, multivitamin: bool, incomplete: str | None
) -> tuple[list[_Serving], list[_Serving]]:
    """The day's food as eaten and as logged (an incomplete day logs only part of it)."""
    weekend = day.weekday() >= 5
    eaten: list[_Serving] = []
    breakfast_at = _clock(rng, (8, 30) if weekend else (6, 55), 75 if weekend else 40)
    eaten += _meal(rng, day, "Breakfast", _pick(rng, BREAKFASTS), breakfast_at)
    if multivitamin:
        eaten += _meal(
            rng, day, "Breakfast", (("Multivitamin, Women's Daily", (1.0,)),), breakfast_at, 0.3
        )
    eaten += _meal(rng, day, "Lunch", _pick(rng, LUNCHES), _clock(rng, (12, 10), 70))
    afternoon = _meal(rng, day, "Snacks", _pick(rng, AFTERNOON_SNACKS), _clock(rng, (15, 0), 90))
    eaten += afternoon
    dinner_at = _clock(rng, (18, 20), 80)
    eaten += _meal(rng, day, "Dinner", _pick(rng, DINNERS), dinner_at)
    wine_p = 0.45 if day.weekday() in (4, 5) else 0.15
    if rng.random() < wine_p:
        eaten += _meal(
            rng, day, "Dinner", (("Red Wine", (1.0, 1.0, 2.0)),), time(dinner_at.hour, 50)
        )
    if rng.random() < 0.2:  # the evening coffee that RLS patients are told to avoid
        eaten += _meal(
            rng, day, "Snacks", (("Coffee, Brewed", (1.0,)),), _clock(rng, (17, 30), 120)
        )
    if rng.random() < 0.45:
        eaten += _meal(rng, day, "Snacks", _pick(rng, EVENING_SNACKS), _clock(rng, (20, 15), 60))
    if incomplete == "morning_only":
        logged = [s for s in eaten if s.group == "Breakfast"]
    elif incomplete == "low_kcal":
        logged = [s for s in eaten if s.group == "Breakfast"] + afternoon
    else:
        logged = list(eaten)
    order = {g: i for i, g in enumerate(GROUPS)}
    logged.sort(key=lambda s: order[s.group])  # Cronometer lists by diary group, then entry
    return eaten, logged


# --------------------------------------------------------------------------- sleep


@dataclass
class _Sleep:
    """One simulated sleep period, minute by minute from ``start_utc``."""

    start_utc: datetime
    states: list[str]  # wake / light / deep / rem
    restless: list[bool]  # legs moving that minute
    steps: list[int]
    is_main: bool = True

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(minutes=len(self.states))

    @property
    def restless_min(self) -> int:
        """Minutes with leg movement in bed: what Fitbit 'classic' calls restless."""
        return sum(r and not st for r, st in zip(self.restless, self.steps, strict=True))


@dataclass
class _Night:
    """Night D: device, whether it was worn, the main sleep and what drove it."""

    index: int
    night: date
    device: str  # fitbit / garmin
    worn: bool
    fitbit_type: str  # classic / stages (Fitbit nights only)
    sleep: _Sleep
    expected_restless_min: float
    hr_offset: float
    naps: list[_Sleep] = field(default_factory=list)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson draw (small lambdas only; no numpy needed)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _expected_restless_min(day: _Day, rng: random.Random) -> float:
    """The planted truth: fewer restless minutes after more magnesium, plus known triggers.

    About -30% per +100 mg elemental magnesium (food as eaten + supplements), +30% after
    >= 60 mg caffeine past 14:00, +20% after >= 10 g alcohol, log-normal noise (sd 0.25).
    """
    mg = day.true_magnesium_mg
    value = 30.0 * math.exp(-0.0035 * (mg - 350.0))
    if day.caffeine_after_14_mg >= 60:
        value *= 1.3
    if day.alcohol_g >= 10:
        value *= 1.2
    return value * math.exp(rng.gauss(0.0, 0.25))


def _hypnogram(rng: random.Random, total_min: int, latency_min: int) -> list[str]:
    """Stages by ~90-minute cycles: deep early, REM growing later, awake at both ends."""
    states = ["wake"] * total_min
    t = latency_min
    cycle = 0
    deep_means = (35, 25, 12, 5, 2)
    rem_means = (10, 18, 24, 28, 30)
    end = total_min - rng.randint(1, 4)
    while t < end:
        k = min(cycle, 4)
        runs = (
            ("light", rng.randint(25, 45)),
            ("deep", max(0, round(rng.gauss(deep_means[k], 5)))),
            ("light", rng.randint(15, 30)),
            ("rem", max(3, round(rng.gauss(rem_means[k], 4)))),
        )
        for stage, length in runs:
            for i in range(t, min(t + length, end)):
                states[i] = stage
            t += length
            if t >= end:
                break
        cycle += 1
    return states


def _simulate_sleep(
    rng: random.Random, start_utc: datetime, total_min: int, expected_restless: float
) -> _Sleep:
    """Minute states plus clustered leg movements (worse early in the night, as in RLS)."""
    latency = max(3, round(8 + 0.25 * expected_restless + abs(rng.gauss(0, 4))))
    latency = min(latency, total_min // 3)
    states = _hypnogram(rng, total_min, latency)
    restless = [False] * total_min
    steps = [0] * total_min
    # Urge to move while trying to fall asleep.
    for i in range(max(0, latency - 6), latency):
        restless[i] = rng.random() < min(0.9, expected_restless / 40)
    for _ in range(_poisson(rng, expected_restless / 3.5)):
        length = rng.randint(1, 6)
        first = latency + int((rng.random() ** 1.6) * max(1, total_min - latency - length))
        for i in range(first, min(first + length, total_min)):
            restless[i] = True
            if states[i] in ("deep", "rem"):
                states[i] = "light"  # movements lighten sleep
        if rng.random() < 0.35:  # an arousal that becomes a short awakening
            for i in range(first + length, min(first + length + rng.randint(1, 4), total_min)):
                states[i] = "wake"
    for _ in range(rng.randint(1, 3)):  # spontaneous brief awakenings
        first = rng.randint(latency + 30, max(latency + 31, total_min - 10))
        for i in range(first, min(first + rng.randint(1, 3), total_min)):
            states[i] = "wake"
    if rng.random() < 0.4:  # a trip to the bathroom: awake, a few steps there and back
        first = rng.randint(latency + 90, max(latency + 91, total_min - 60))
        length = rng.randint(4, 8)
        for i in range(first, min(first + length, total_min)):
            states[i] = "wake"
        if first + length < total_min:
            steps[first] = rng.randint(8, 18)
            steps[first + length - 1] = rng.randint(8, 18)
    return _Sleep(start_utc, states, restless, steps)


def _at_local(day: date, minutes_after_midnight: float) -> datetime:
    """UTC instant of a wall-clock time on ``day`` (past 24 h runs into the next day)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes_after_midnight)
    return naive.replace(tzinfo=_TZ).astimezone(UTC)


def _plan_night(
    rng: random.Random, index: int, night: date, device: str, worn: bool, day: _Day
) -> _Night:
    """Bed and wake times by weekday, then the minute-level night."""
    weekend_night = night.weekday() in (4, 5)
    bed_min = (23 * 60 + 40 if weekend_night else 22 * 60 + 55) + rng.gauss(0, 18)
    bed = _at_local(night, round(bed_min)) + timedelta(seconds=30 * rng.randint(0, 1))
    weekend_morning = (night + timedelta(days=1)).weekday() >= 5
    wake_min = (8 * 60 + 5 if weekend_morning else 6 * 60 + 40) + rng.gauss(0, 15)
    wake = _at_local(night + timedelta(days=1), round(wake_min)) + timedelta(seconds=bed.second)
    total = int((wake - bed).total_seconds() // 60)  # one hour shorter on spring-forward
    expected = _expected_restless_min(day, rng)
    sleep = _simulate_sleep(rng, bed, total, expected)
    fitbit_type = "stages" if rng.random() < 0.25 else "classic"
    hr_offset = rng.gauss(0, 2) + (4 if day.alcohol_g >= 10 else 0)
    return _Night(index, night, device, worn, fitbit_type, sleep, expected, hr_offset)


def _plan_nap(rng: random.Random, day: date) -> _Sleep:
    start = _at_local(day, 14 * 60 + rng.randint(0, 80)) + timedelta(seconds=30)
    total = rng.randint(25, 65)
    states = ["wake"] * rng.randint(2, 5) + ["light"] * total
    states[-1] = "wake"
    restless = [rng.random() < 0.05 for _ in states]
    return _Sleep(start, states, restless, [0] * len(states), is_main=False)


# --------------------------------------------------------------------------- timeline


@dataclass
class _Timeline:
    """Per-UTC-minute truth for the whole demo: steps, heart rate, 0-7 intensity, device."""

    start_utc: datetime
    steps: list[int]
    heart_rate: list[float]
    intensity: list[int]
    device: list[str | None]
    hr_off: list[bool]  # worn but no heart rate (shower, loose strap)
    night_zone: list[bool]  # Garmin logs 1-minute epochs here

    def index(self, instant: datetime) -> int:
        return int((instant - self.start_utc).total_seconds() // 60)

    def span(self, start: datetime, end: datetime) -> range:
        return range(max(0, self.index(start)), min(len(self.steps), self.index(end)))


def _day_activity(rng: random.Random, tl: _Timeline, day: date, awake: range) -> None:
    """Walks (commute, lunch, weekend) and pottering between the morning wake and bedtime."""
    base_hr = 72 + rng.gauss(0, 2)
    for m in awake:
        tl.heart_rate[m] = base_hr + rng.gauss(0, 3)
        if rng.random() < 0.12:
            tl.steps[m] = rng.randint(3, 40)
    walks: list[tuple[float, int]] = []
    if day.weekday() < 5:
        walks.append((7 * 60 + 50 + rng.randint(0, 15), rng.randint(15, 22)))
        walks.append((17 * 60 + rng.randint(0, 40), rng.randint(18, 25)))
        if rng.random() < 0.5:
            walks.append((12 * 60 + 40 + rng.randint(0, 20), rng.randint(10, 15)))
    elif rng.random() < 0.7:
        walks.append((10 * 60 + 30 + rng.randint(0, 270), rng.randint(40, 80)))
    if rng.random() < 0.15:
        walks.append((19 * 60 + 45 + rng.randint(0, 30), rng.randint(15, 25)))
    for start_min, length in walks:
        cadence = rng.randint(88, 114)
        for m in tl.span(_at_local(day, start_min), _at_local(day, start_min + length)):
            if m in awake:
                tl.steps[m] = max(0, cadence + rng.randint(-12, 8))
                tl.heart_rate[m] = 96 + (cadence - 88) / 2 + rng.gauss(0, 3)
    for m in awake:
        spm = tl.steps[m]
        tl.intensity[m] = 0 if spm < 5 else 1 if spm < 30 else 2 if spm < 60 else 3


_SLEEP_HR = {"deep": 54.0, "light": 57.0, "rem": 60.0, "wake": 65.0}


def _overlay_sleep(rng: random.Random, tl: _Timeline, sleep: _Sleep, hr_offset: float) -> None:
    """Sleep minutes: few steps, low heart rate, intensity from leg movement and waking."""
    first = tl.index(sleep.start_utc)
    for i, (stage, moving) in enumerate(zip(sleep.states, sleep.restless, strict=True)):
        m = first + i
        if not 0 <= m < len(tl.steps):
            continue
        tl.steps[m] = sleep.steps[i]
        hr = _SLEEP_HR[stage] + hr_offset + (5 if moving else 0) + rng.gauss(0, 1.5)
        tl.heart_rate[m] = hr
        if sleep.steps[i]:
            tl.intensity[m] = rng.randint(3, 4)
        elif moving:
            tl.intensity[m] = rng.choice((1, 1, 2, 2, 3))
        elif stage == "wake":  # lying awake but still
            tl.intensity[m] = 1 if rng.random() < 0.05 else 0
        else:
            tl.intensity[m] = 1 if rng.random() < 0.005 else 0


# --------------------------------------------------------------------------- writers


def _jackson(value: object, level: int = 0) -> str:
    """JSON laid out like Fitbit's account export (Jackson's default pretty printer)."""
    pad = "  "
    if isinstance(value, dict):
        inner = ",\n".join(
            f"{pad * (level + 1)}{json.dumps(k)} : {_jackson(v, level + 1)}"
            for k, v in value.items()
        )
        return "{\n" + inner + "\n" + pad * level + "}"
    if isinstance(value, list):
        return "[" + ",".join(_jackson(v, level) for v in value) + "]" if value else "[ ]"
    return json.dumps(value)


def _local_naive(instant: datetime) -> datetime:
    return instant.astimezone(_TZ).replace(tzinfo=None)


def _fitbit_stamp(instant: datetime) -> str:
    return _local_naive(instant).strftime("%Y-%m-%dT%H:%M:%S.000")


def _runs(values: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """(first index, length, value) of each run of equal values."""
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            yield start, i - start, values[start]
            start = i


def _fitbit_log(sleep: _Sleep, log_id: int, log_type: str, recent: list[dict]) -> dict:
    """A Fitbit sleep log whose summary fields are computed from its own levels."""
    minute = timedelta(minutes=1)
    total = len(sleep.states)
    if log_type == "classic":
        # Classic scoring is movement only: walking is awake, leg movement is restless
        # (also while lying awake), stillness is asleep unless the person was awake.
        levels = [
            "awake" if steps else "restless" if r else "awake" if s == "wake" else "asleep"
            for s, r, steps in zip(sleep.states, sleep.restless, sleep.steps, strict=True)
        ]
        runs = list(_runs(levels))
        count = {lv: sum(1 for _, _, v in runs if v == lv) for lv in ("restless", "awake")}
        mins = {lv: levels.count(lv) for lv in ("restless", "awake", "asleep")}
        summary = {
            "restless": {"count": count["restless"], "minutes": mins["restless"]},
            "awake": {"count": count["awake"], "minutes": mins["awake"]},
            "asleep": {"count": 0, "minutes": mins["asleep"]},
        }
        data = [
            {"dateTime": _fitbit_stamp(sleep.start_utc + i * minute), "level": v, "seconds": n * 60}
            for i, n, v in runs
        ]
        asleep, awake = mins["asleep"], mins["restless"] + mins["awake"]
        level_block: dict = {"summary": summary, "data": data}
        info_code = 2 if sleep.is_main else 1
    else:
        runs = list(_runs(sleep.states))
        # Wakes under 3 minutes go to shortData; the long series keeps the stage before them.
        shown = list(sleep.states)
        short = []
        for i, n, v in runs:
            if v == "wake" and n < 3 and i > 0:
                short.append((i, n))
                for j in range(i, i + n):
                    shown[j] = shown[i - 1]
        summary = {}
        for lv in ("deep", "wake", "light", "rem"):
            minutes_lv = sleep.states.count(lv)
            past = [log["levels"]["summary"][lv]["minutes"] for log in recent]
            avg = round(sum(past) / len(past)) if past else minutes_lv
            summary[lv] = {
                "count": sum(1 for _, _, v in runs if v == lv),
                "minutes": minutes_lv,
                "thirtyDayAvgMinutes": avg,
            }
        level_block = {
            "summary": summary,
            "data": [
                {"dateTime": _fitbit_stamp(sleep.start_utc + i * minute), "level": v,
                 "seconds": n * 60}
                for i, n, v in _runs(shown)
            ],
            "shortData": [
                {"dateTime": _fitbit_stamp(sleep.start_utc + i * minute), "level": "wake",
                 "seconds": n * 60}
                for i, n in short
            ],
        }  # fmt: skip
        awake = sleep.states.count("wake")
        asleep = total - awake
        info_code = 0
    return {
        "logId": log_id,
        "dateOfSleep": _local_naive(sleep.end_utc).date().isoformat(),
        "startTime": _fitbit_stamp(sleep.start_utc),
        "endTime": _fitbit_stamp(sleep.end_utc),
        "duration": total * 60_000,
        "minutesToFallAsleep": 0,
        "minutesAsleep": asleep,
        "minutesAwake": awake,
        "minutesAfterWakeup": 0,
        "timeInBed": total,
        "efficiency": round(100 * asleep / total),
        "type": log_type,
        "infoCode": info_code,
        "logType": "auto_detected",
        "levels": level_block,
        "mainSleep": sleep.is_main,
    }


def _write_fitbit(
    folder: Path, nights: list[_Night], tl: _Timeline, days: list[date], rng: random.Random
) -> None:
    """Monthly sleep files (newest log first) and daily steps and heart-rate files."""
    logs: list[dict] = []
    recent_stages: list[tuple[date, dict]] = []
    for night in nights:
        if night.device != "fitbit":
            continue
        for k, nap in enumerate(night.naps):
            logs.append(_fitbit_log(nap, 41_200_000_000 + night.index * 10 + 1 + k, "classic", []))
        if not night.worn:
            continue
        recent = [log for d, log in recent_stages if (night.night - d).days <= 30]
        log = _fitbit_log(night.sleep, 41_200_000_000 + night.index * 10, night.fitbit_type, recent)
        if night.fitbit_type == "stages":
            recent_stages.append((night.night, log))
        logs.append(log)
    by_month: dict[str, list[dict]] = {}
    for log in logs:
        by_month.setdefault(log["dateOfSleep"][:7], []).append(log)
    for month, month_logs in sorted(by_month.items()):
        month_logs.sort(key=lambda log: log["startTime"], reverse=True)
        (folder / f"sleep-{month}-01.json").write_text(_jackson(month_logs), encoding="utf-8")

    for day in days:
        minutes = [m for m in tl.span(_at_local(day, 0), _at_local(day, 24 * 60))
                   if tl.device[m] == "fitbit"]  # fmt: skip
        if not minutes:
            continue
        steps = [
            {"dateTime": _fitbit_series_stamp(tl, m), "value": str(tl.steps[m])} for m in minutes
        ]
        beats = []
        second = minutes[0] * 60 + rng.randint(0, 20)
        while second < (minutes[-1] + 1) * 60:
            m = second // 60
            if tl.device[m] == "fitbit" and not tl.hr_off[m]:
                at = tl.start_utc + timedelta(seconds=second)
                confidence = 1 if tl.steps[m] > 60 and rng.random() < 0.3 else rng.choice((2, 3))
                beats.append(
                    {
                        "dateTime": _local_naive(at).strftime("%m/%d/%y %H:%M:%S"),
                        "value": {"bpm": round(tl.heart_rate[m] + rng.gauss(0, 1)),
                                  "confidence": confidence},
                    }
                )  # fmt: skip
            second += rng.randint(45, 75)
        (folder / f"steps-{day.isoformat()}.json").write_text(_jackson(steps), encoding="utf-8")
        (folder / f"heart_rate-{day.isoformat()}.json").write_text(
            _jackson(beats), encoding="utf-8"
        )


def _fitbit_series_stamp(tl: _Timeline, m: int) -> str:
    return _local_naive(tl.start_utc + timedelta(minutes=m)).strftime("%m/%d/%y %H:%M:%S")


def _offset_s(instant: datetime) -> int:
    offset = instant.astimezone(_TZ).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _clamp(value: float) -> int:
    return max(0, min(100, round(value)))


def _assessment(sleep: _Sleep) -> dict[str, int]:
    """Garmin-style 0-100 scores (higher is better) derived from the night itself."""
    states = sleep.states
    onset = next((i for i, s in enumerate(states) if s != "wake"), len(states))
    tst = sum(s != "wake" for s in states)
    share = {s: states.count(s) / max(tst, 1) for s in ("deep", "light", "rem")}
    awake_after_onset = sum(s == "wake" for s in states[onset:])
    awakenings = sum(1 for i, _, v in _runs(states) if v == "wake" and i > onset)
    scores = {
        "sleep_duration_score": _clamp(100 - abs(tst - 460) / 3),
        "deep_sleep_score": _clamp(100 * min(1.0, share["deep"] / 0.2)),
        "light_sleep_score": _clamp(100 - abs(share["light"] - 0.55) * 200),
        "rem_sleep_score": _clamp(100 * min(1.0, share["rem"] / 0.22)),
        "awake_time_score": _clamp(100 - 1.5 * awake_after_onset),
        "awakenings_count_score": _clamp(100 - 10 * awakenings),
        "sleep_restlessness_score": _clamp(100 - 1.6 * sleep.restless_min),
    }
    scores["combined_awake_score"] = _clamp(
        (scores["awake_time_score"] + scores["awakenings_count_score"]) / 2
    )
    scores["interruptions_score"] = scores["awakenings_count_score"]
    scores["sleep_quality_score"] = _clamp(
        (scores["deep_sleep_score"] + scores["rem_sleep_score"]
         + scores["sleep_restlessness_score"]) / 3
    )  # fmt: skip
    scores["overall_sleep_score"] = _clamp(
        0.35 * scores["sleep_duration_score"] + 0.35 * scores["sleep_quality_score"]
        + 0.3 * scores["combined_awake_score"]
    )  # fmt: skip
    scores["sleep_recovery_score"] = _clamp(scores["overall_sleep_score"] - 5)
    scores["awakenings_count"] = awakenings
    scores["average_stress_during_sleep"] = round(14 + sleep.restless_min / 4)
    return scores


def _write_garmin(folder: Path, nights: list[_Night], tl: _Timeline, days: list[date]) -> None:
    """One sleep file per worn night and one monitoring file per local day."""
    for night in nights:
        if night.device != "garmin" or not night.worn:
            continue
        sleep = night.sleep
        levels = [
            (sleep.start_utc + timedelta(minutes=i), "awake" if v == "wake" else v)
            for i, _, v in _runs(sleep.states)
        ]
        write_sleep_file(
            folder / f"sleep-{night.night.isoformat()}.fit",
            levels=levels,
            end_utc=sleep.end_utc,
            assessment=_assessment(sleep),
            local_offset_s=_offset_s(sleep.end_utc),
            time_created_utc=sleep.end_utc + timedelta(minutes=3),
            serial_number=GARMIN_SERIAL,
        )
    for day in days:
        day_start = _at_local(day, 0)
        span = [m for m in tl.span(day_start, _at_local(day, 24 * 60)) if tl.device[m] == "garmin"]
        if not span:
            continue
        epochs = list(_epochs(tl, span))
        last = epochs[-1]
        write_monitoring_file(
            folder / f"monitoring-{day.isoformat()}.fit",
            epochs=epochs,
            local_offset_s=_offset_s(day_start),
            time_created_utc=last.start_utc + timedelta(seconds=last.duration_s),
            serial_number=GARMIN_SERIAL,
        )


def _epochs(tl: _Timeline, minutes: list[int]) -> Iterator[MonitoringEpoch]:
    """1-minute epochs around sleep, quarter-hour epochs by day, nothing while off-wrist."""
    present = set(minutes)
    m = minutes[0]
    stop = minutes[-1] + 1
    while m < stop:
        if m not in present:
            m += 1
            continue
        end = m + 1
        if not tl.night_zone[m]:
            while (
                end < stop and end % 15 and end in present and not tl.night_zone[end]
            ):  # quarter hours: the timeline starts at a local midnight
                end += 1
        block = range(m, end)
        steps = sum(tl.steps[i] for i in block)
        yield MonitoringEpoch(
            start_utc=tl.start_utc + timedelta(minutes=m),
            duration_s=60 * len(block),
            activity_type="walking" if steps else "sedentary",
            intensity=round(sum(tl.intensity[i] for i in block) / len(block)),
            steps=steps,
            heart_rate=round(sum(tl.heart_rate[i] for i in block) / len(block)),
        )
        m = end


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _amount(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def _write_cronometer(folder: Path, days: list[_Day]) -> None:
    """servings.csv quoted like the app; dailysummary.csv totals the same rounded cells.

    Like Cronometer, a day's total treats blank cells as 0 and stays blank only when every
    serving of the day is blank for that nutrient.
    """
    lines = [",".join(SERVINGS_HEADER)]
    daily = [",".join(DAILY_HEADER)]
    for day in days:
        if not day.logged:
            continue
        totals: list[int | None] = [None] * len(NUTRIENTS)
        for s in day.logged:
            cents = s.cents
            shown_time = s.time_local.strftime("%H:%M") if s.time_local else ""
            lines.append(
                ",".join(
                    [
                        s.day.isoformat(),
                        shown_time,
                        _csv_cell(s.group),
                        _csv_cell(s.food.name),
                        _csv_cell(s.amount),
                        *(_amount(c) for c in cents),
                        _csv_cell(s.food.category),
                    ]
                )
            )
            for k, c in enumerate(cents):
                if c is not None:
                    totals[k] = (totals[k] or 0) + c
        daily.append(",".join([day.day.isoformat(), *(_amount(t) for t in totals), "false"]))
    (folder / "servings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "dailysummary.csv").write_text("\n".join(daily) + "\n", encoding="utf-8")


def _write_supplements(folder: Path, days: list[_Day]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUPPLEMENT_HEADER)
    for day in days:
        if day.supplement_row is not None:
            at, amount, basis = day.supplement_row
            writer.writerow(
                [day.day.isoformat(), at, SUPPLEMENT_PRODUCT, "glycinate", amount, basis]
            )
    (folder / "supplement_log.csv").write_text(buffer.getvalue(), encoding="utf-8")


# --------------------------------------------------------------------------- entry point


def _plan_days(seed: int, dates: list[date]) -> list[_Day]:
    """Food for every day, the glycinate from ~day 40 (a few evenings missed) and one
    elemental-basis row, the multivitamin from ~day 46, four incomplete log days."""
    nights = len(dates)
    food_rng = random.Random(f"{seed}:food")
    supp_rng = random.Random(f"{seed}:supplement")
    supplement_start = nights * 13 // 25  # day 40 of 75
    multivitamin_start = nights * 3 // 5  # day 46 of 75
    kinds = ("morning_only", "low_kcal", "morning_only", "low_kcal")
    incomplete = dict(zip(sorted(food_rng.sample(range(2, nights - 1), 4)), kinds, strict=True))
    missed = set(supp_rng.sample(range(supplement_start + 1, nights), max(1, nights // 15)))
    elemental_day = supp_rng.choice(
        [i for i in range(supplement_start + 2, nights) if i not in missed]
    )
    days: list[_Day] = []
    for i, d in enumerate(dates):
        eaten, logged = _plan_food(food_rng, d, i >= multivitamin_start, incomplete.get(i))
        day = _Day(d, eaten, logged)
        if i >= supplement_start and i not in missed:
            at = _clock(supp_rng, (21, 10), 40).strftime("%H:%M")
            if i == elemental_day:
                day.supplement_row = (at, SUPPLEMENT_ELEMENTAL_LABEL_MG, "elemental")
                day.supplement_elemental_mg = SUPPLEMENT_ELEMENTAL_LABEL_MG
            else:
                day.supplement_row = (at, SUPPLEMENT_COMPOUND_MG, "compound")
                day.supplement_elemental_mg = SUPPLEMENT_COMPOUND_MG * GLYCINATE_ELEMENTAL_FRACTION
        days.append(day)
    return days


def _plan_nights(seed: int, days: list[_Day], fitbit_nights: int) -> list[_Night]:
    """Every night from the day before it; one night per device spent on the charger."""
    rng = random.Random(f"{seed}:sleep")
    nights = len(days)
    not_worn = set()
    if fitbit_nights >= 10:
        not_worn.add(rng.randrange(5, fitbit_nights - 2))
    if nights - fitbit_nights >= 10:
        not_worn.add(rng.randrange(fitbit_nights + 5, nights - 1))
    plan: list[_Night] = []
    for i, day in enumerate(days):
        device = "fitbit" if i < fitbit_nights else "garmin"
        night = _plan_night(rng, i, day.day, device, i not in not_worn, day)
        if device == "fitbit" and day.day.weekday() >= 5 and rng.random() < 0.35:
            night.naps.append(_plan_nap(rng, day.day))
        plan.append(night)
    return plan


def _build_timeline(seed: int, plan: list[_Night], fitbit_nights: int) -> _Timeline:
    """Minute truth from the first local midnight to noon after the last night.

    The Fitbit is worn until noon of the morning after its last night, the Garmin from
    14:00 that day; a night on the charger leaves no pulse (Fitbit) or no epochs (Garmin).
    """
    rng = random.Random(f"{seed}:activity")
    first, last = plan[0].night, plan[-1].night
    start = _at_local(first, 0)
    end = _at_local(last + timedelta(days=1), 12 * 60)
    switch_day = first + timedelta(days=fitbit_nights)
    fitbit_until, garmin_from = _at_local(switch_day, 12 * 60), _at_local(switch_day, 14 * 60)
    n = int((end - start).total_seconds() // 60)
    tl = _Timeline(start, [0] * n, [70.0] * n, [0] * n, [None] * n, [False] * n, [False] * n)
    for m in range(n):
        at = start + timedelta(minutes=m)
        tl.device[m] = "fitbit" if at < fitbit_until else "garmin" if at >= garmin_from else None
    for i in range(len(plan) + 1):
        day = first + timedelta(days=i)
        wake = plan[i - 1].sleep.end_utc if i else _at_local(day, 7 * 60)
        bed = plan[i].sleep.start_utc if i < len(plan) else end
        _day_activity(rng, tl, day, tl.span(wake, bed))
        for m in tl.span(wake + timedelta(minutes=12), wake + timedelta(minutes=25)):
            tl.hr_off[m] = True  # the morning shower
    for night in plan:
        for nap in night.naps:
            _overlay_sleep(rng, tl, nap, night.hr_offset)
        sleep = night.sleep
        if night.worn:
            _overlay_sleep(rng, tl, sleep, night.hr_offset)
            zone = tl.span(
                sleep.start_utc - timedelta(minutes=30), sleep.end_utc + timedelta(minutes=30)
            )
            for m in zone:
                tl.night_zone[m] = True
            continue
        off = tl.span(
            sleep.start_utc - timedelta(minutes=40), sleep.end_utc + timedelta(minutes=20)
        )
        for m in off:
            tl.steps[m], tl.intensity[m] = 0, 0
            if tl.device[m] == "garmin":
                tl.device[m] = None  # on the charger: the watch logs nothing
            else:
                tl.hr_off[m] = True  # the Fitbit still counts (zero) steps, no pulse
    return tl


def _plan_ankle(seed: int, plan: list[_Night], days: list[_Day]) -> dict[date, AnkleNight]:
    """:data:`ANKLE_NIGHTS` worn Garmin nights with the ankle sensor, from bedtime to wake:
    the one after the day with the least magnesium, the others from the last two weeks (on
    the supplement). PLM runs follow the night's planted expected restless minutes
    (:func:`_expected_restless_min`: fewer after more magnesium), one run per 6 minutes
    (1-8 runs), plus 3-8 isolated movements."""
    rng = random.Random(f"{seed}:ankle")
    worn = [n for n in plan if n.device == "garmin" and n.worn]
    if not worn:
        return {}
    lowest = min(worn, key=lambda n: days[n.index].true_magnesium_mg)
    recent = [n for n in plan[-14:] if n in worn and n is not lowest]
    picked = rng.sample(recent, min(ANKLE_NIGHTS - 1, len(recent)))
    chosen = sorted([lowest, *picked], key=lambda n: n.index)
    ankle = {}
    for night in chosen:
        runs = max(1, min(8, round(night.expected_restless_min / 6)))
        sleep = night.sleep
        ankle[night.night] = plan_ankle_night(
            rng, sleep.start_utc, 60.0 * len(sleep.states), runs, rng.randint(3, 8)
        )
    return ankle


def _write_ankle(folder: Path, ankle: dict[date, AnkleNight]) -> None:
    """One Axivity AX3 ``.cwa`` file per ankle night (the sensor of most ankle studies;
    the writer's fixed fake device id, one session per night). The file ends with its last
    whole block, as a device's: up to 4.76 s before the planned wake, where nothing is
    planted (:func:`restless.demo.ankle.plan_ankle_night` keeps a minute free)."""
    for index, (night, recording) in enumerate(sorted(ankle.items()), start=1):
        write_cwa_file(
            folder / f"ankle-{night.isoformat()}.cwa",
            start_utc=recording.start_utc,
            samples_g=synthesise(recording),
            sample_rate_hz=ANKLE_FS,
            session_id=index,
        )


def generate_demo_inbox(dest: Path, *, seed: int = 20261125, nights: int = 75) -> DemoInfo:
    """Write ``dest/demo01/{garmin,fitbit,cronometer,supplements,left}`` and describe the
    person (``left``: the ankle accelerometer).

    Refuses to write into an existing non-empty ``dest/demo01`` (stale files from another
    seed or length would silently join the demo).
    """
    if nights < 20:
        raise ValueError("the demo needs at least 20 nights")
    root = Path(dest) / PARTICIPANT_ID
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} already exists and is not empty")
    names = ("garmin", "fitbit", "cronometer", "supplements", ANKLE_SIDE)
    folders = {name: root / name for name in names}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)

    fitbit_nights = min(30, nights * 2 // 5)
    dates = [FIRST_NIGHT + timedelta(days=i) for i in range(nights)]
    days = _plan_days(seed, dates)
    plan = _plan_nights(seed, days, fitbit_nights)
    tl = _build_timeline(seed, plan, fitbit_nights)
    calendar = [*dates, dates[-1] + timedelta(days=1)]
    _write_fitbit(folders["fitbit"], plan, tl, calendar, random.Random(f"{seed}:fitbit"))
    _write_garmin(folders["garmin"], plan, tl, calendar)
    _write_cronometer(folders["cronometer"], days)
    _write_supplements(folders["supplements"], days)
    ankle = _plan_ankle(seed, plan, days)
    _write_ankle(folders[ANKLE_SIDE], ankle)
    return DemoInfo(
        participant_id=PARTICIPANT_ID,
        timezone=TIMEZONE,
        sex=SEX,
        birth_year=BIRTH_YEAR,
        inbox=Path(dest),
        first_night=dates[0],
        last_night=dates[-1],
        ankle_nights=ankle,
    )
