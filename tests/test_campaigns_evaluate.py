"""Did it work: the DiD estimator on synthetic panels with a known effect, and on the real LLR data."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiexplore.campaigns import evaluate as ev
from hiexplore.campaigns.evaluate import (
    RESULT_KEYS,
    did_estimate,
    evaluate_campaign,
    event_study_figure,
    match_comparison,
    overlapping_campaigns,
    quarter_index,
    synthetic_panel,
)
from hiexplore.dataset import load_dataset

START = quarter_index("2023/24 Q1") + 6  # synthetic_panel's default: 6 quarters before, 4 after


def test_quarter_helpers_doctests() -> None:
    assert doctest.testmod(ev).failed == 0
    assert quarter_index("2019/20 Q4") == 2019 * 4 + 3
    assert quarter_index("2017/18 Q3 (Dec 2017)") == 2017 * 4 + 2
    assert quarter_index("2023") is None


@pytest.mark.parametrize("effect", [5.0, -4.0])
def test_a_known_effect_is_recovered_within_its_ci(effect: float) -> None:
    hits = 0
    for seed in range(20):
        r = did_estimate(synthetic_panel(effect=effect, seed=seed), START, event_study=(seed == 0))
        assert r["lower_ci"] < r["effect"] < r["upper_ci"]
        hits += r["lower_ci"] <= effect <= r["upper_ci"]
        assert np.sign(r["lower_ci"]) == np.sign(r["upper_ci"]) == np.sign(effect)  # clearly non-zero
    assert hits >= 17  # a 95% CI holds the true effect nearly always
    r = did_estimate(synthetic_panel(effect=effect, seed=0), START)
    post = [e for e in r["event_study"] if e["relative_quarter"] >= 0]
    pre = [e for e in r["event_study"] if e["relative_quarter"] < 0]  # with the reference quarter -1 (0)
    assert len(post) == 4 and len(pre) == 6
    # balanced panel: the DiD is the mean after-effect less the mean before-effect
    assert np.mean([e["effect"] for e in post]) - np.mean([e["effect"] for e in pre]) == pytest.approx(
        r["effect"], abs=1e-6)
    assert all(np.sign(e["effect"]) == np.sign(effect) for e in post)
    assert sum(e["lower_ci"] <= effect <= e["upper_ci"] for e in post) >= 3
    assert r["pretrend_p_value"] is not None and r["pretrend_p_value"] > 0.01


def test_no_effect_ci_covers_zero_in_at_least_90_percent_of_200_seeded_runs() -> None:
    covered = 0
    for seed in range(200):
        r = did_estimate(synthetic_panel(effect=0.0, seed=1000 + seed, n_treated=8, n_comparison=24,
                                         quarters_before=4, quarters_after=3), quarter_index("2023/24 Q1") + 4,
                         event_study=False)
        covered += r["lower_ci"] <= 0.0 <= r["upper_ci"]
    assert covered >= 180, covered


def test_diverging_trends_before_the_start_give_no_verdict_on_the_effect() -> None:
    p = synthetic_panel(effect=0.0, seed=3, noise=0.5)
    p.loc[p["treated"], "value"] += 1.5 * (p.loc[p["treated"], "quarter"] - p["quarter"].min())  # a steeper trend
    r = did_estimate(p, START)
    assert r["pretrend_p_value"] < 0.05
    result = {**r, "periods": ["2023/24 Q1"], "start_quarter": "2024/25 Q3"}
    assert ev._verdict(result).startswith("Cannot tell: before the start")


def test_too_few_quarters_gives_no_estimate() -> None:
    p = synthetic_panel(quarters_before=3, quarters_after=0, effect=2.0)
    r = did_estimate(p, quarter_index("2023/24 Q1") + 3)
    assert r["effect"] is None and r["quarters_before"] == 3 and r["quarters_after"] == 0


def test_matching_takes_the_nearest_untargeted_units_without_replacement() -> None:
    units = pd.DataFrame({
        "unit": ["T1", "T2", "A", "B", "C", "D", "E"],
        "treated": [True, True, False, False, False, False, False],
        "baseline": [80.0, 90.0, 80.5, 90.2, 60.0, 89.9, 79.0],
        "imd_rank": [1000, 20000, 1100, 19000, 30000, 21000, 900],
    })
    got = match_comparison(units, k=2)
    assert set(got["unit"]) == {"A", "E", "B", "D"}
    assert dict(zip(got["unit"], got["matched_to"], strict=True)) == {"A": "T1", "E": "T1", "B": "T2", "D": "T2"}
    assert not got["treated"].any() and got["unit"].is_unique


def test_overlapping_campaigns_in_time_and_place() -> None:
    c = {"id": 1, "start_date": "2024-01-01", "end_date": "2024-06-30", "areas": ["A"], "practices": [],
         "indicators": ["mmr1_24m"]}
    others = [
        {"id": 2, "name": "same place", "start_date": "2024-03-01", "end_date": None, "areas": ["A"],
         "practices": [], "indicators": ["menb_12m"]},
        {"id": 3, "name": "later", "start_date": "2024-07-01", "end_date": None, "areas": ["A"], "practices": [],
         "indicators": ["mmr1_24m"]},
        {"id": 4, "name": "elsewhere, other programme", "start_date": "2024-02-01", "end_date": "2024-02-02",
         "areas": ["B"], "practices": [], "indicators": ["menb_12m"]},
        {"id": 5, "name": "same programme", "start_date": "2023-01-01", "end_date": "2024-01-01", "areas": ["B"],
         "practices": [], "indicators": ["mmr1_24m"]},
    ]
    assert [o["id"] for o in overlapping_campaigns(c, others)] == [2, 5]


@pytest.fixture(scope="module")
def llr(embedded_dataset: Path):
    return load_dataset(embedded_dataset)


def _campaign(**kw) -> dict:
    c = {"id": 1, "name": "MMR catch-up", "indicators": ["mmr1_24m"], "start_date": "2024-01-15", "end_date": None,
         "areas": [], "practices": []}
    c.update(kw)
    return c


def test_evaluate_practices_on_real_llr_data(llr) -> None:
    practices = ["C82001", "C82002", "C82003", "C82005", "C82007"]
    r = evaluate_campaign(llr, _campaign(practices=practices))
    assert set(RESULT_KEYS) <= set(r)
    assert r["geography"] == "practice" and r["start_quarter"] == "2023/24 Q4"
    assert (r["quarters_before"], r["quarters_after"]) == (3, 3)  # six COVER GP quarters held
    assert [t["code"] for t in r["treated"]] == practices
    comp = [c["code"] for c in r["comparison"]]
    assert len(comp) == 15 and not set(comp) & set(practices)
    icb = llr.practices.set_index("practice_code")["icb_code"]
    assert set(icb.reindex(comp)) == {"QK1"}  # the same ICB
    assert r["lower_ci"] <= r["effect"] <= r["upper_ci"]
    assert "nearest neighbours" in r["method"] and "clustered" in r["method"]
    assert r["verdict"].startswith("Too few quarters to tell")
    assert any("Numerators are estimated" in c for c in r["caveats"])
    fig = event_study_figure(r)
    assert "percentage points" in fig.layout.yaxis.title.text and len(fig.data) == 2


def test_evaluate_neighbourhoods_says_they_are_apportioned_and_names_overlaps(llr) -> None:
    lsoas = ["E01013600", "E01013601", "E01013602", "E01013603"]
    other = _campaign(id=2, name="MenB week", indicators=["mmr1_24m"], start_date="2024-02-01", areas=["E01013600"])
    r = evaluate_campaign(llr, _campaign(areas=lsoas), others=[other])
    assert r["geography"] == "lsoa" and len(r["treated"]) == 4
    assert any("APPORTIONED" in c and "MODELLED" in c for c in r["caveats"])
    assert any(c.startswith("Campaign 2 (MenB week") for c in r["caveats"])
    assert r["overlapping_campaigns"][0]["shared_areas"] == ["E01013600"]


def test_units_targeted_by_an_overlapping_campaign_are_not_comparison_units(llr) -> None:
    mine = _campaign(practices=["C82001", "C82002"], end_date="2024-03-31")
    first = evaluate_campaign(llr, mine)
    taken = first["comparison"][0]["code"]
    other = _campaign(id=7, name="Other team", start_date="2023-12-01", end_date="2024-02-01", practices=[taken])
    again = evaluate_campaign(llr, mine, others=[other])
    assert taken not in {c["code"] for c in again["comparison"]} and len(again["comparison"]) == 6
    later = _campaign(id=8, name="Later", start_date="2025-01-01", practices=[taken])  # not at the same time
    assert taken in {c["code"] for c in evaluate_campaign(llr, mine, others=[later])["comparison"]}


def test_evaluate_a_campaign_after_the_last_quarter_says_too_few_quarters(llr) -> None:
    r = evaluate_campaign(llr, _campaign(practices=["C82001"], start_date="2025-06-01"))
    assert r["effect"] is None and r["quarters_after"] == 0
    assert r["verdict"].startswith("Too few quarters to tell")
    assert any("nothing after to compare" in c for c in r["caveats"])


def test_evaluate_an_upper_tier_la_uses_its_published_quarters(llr) -> None:
    r = evaluate_campaign(llr, _campaign(areas=["E06000016"]))
    assert r["geography"] == "utla" and r["quarters_before"] >= 12
    assert {c["code"] for c in r["comparison"]} == {"E06000017", "E10000018"}
    assert any("unreliable" in c for c in r["caveats"])  # 1 targeted, 2 comparison units
