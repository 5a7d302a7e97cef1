"""`meshwarn exercise simulate` and `plot` end to end on the salvo, the quickest shipped scenario."""

import contextlib
import io
import json
from pathlib import Path

import pytest

from meshwarn import exercise
from meshwarn.cli import main
from meshwarn.model import InfraredLos, RadarPlot, UnitPosition
from meshwarn.sim.scenario import load_scenario
from meshwarn.sim.simulate import REPORT_TRUTH, out_of_order, simulate


@pytest.fixture(scope="module")
def salvo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("salvo")
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main(["exercise", "simulate", "srbm-salvo", "--out", str(out), "--quiet"]) == 0
    return out, text.getvalue()


def test_simulate_writes_readable_files(salvo: tuple[Path, str]) -> None:
    out, _ = salvo
    deliveries = list(exercise.read_deliveries(out))
    truth = exercise.read_truth(out)
    assert (out / exercise.SCENARIO).read_text() == load_scenario("srbm-salvo").text
    assert len(truth.objects) == 5 and {o.kind for o in truth.objects} == {"missile"}
    assert len(truth.sensors) == len(load_scenario("srbm-salvo").sensors)
    for obj in truth.objects:
        steps = [b[0] - a[0] for a, b in zip(obj.samples, obj.samples[1:], strict=False)]
        assert max(steps) <= 1.0 + 1e-6 and obj.samples[-1][0] == pytest.approx(obj.impact_time)
        assert obj.launch_time < obj.burnout_time < obj.impact_time <= truth.end_time
    arrivals = [d.arrival for d in deliveries]
    assert arrivals == sorted(arrivals) and out_of_order(deliveries) > 0
    kinds = {type(d.report.body) for d in deliveries}
    assert kinds == {RadarPlot, InfraredLos, UnitPosition}
    ids = [d.report.id for d in deliveries]
    assert len(set(ids)) == len(ids)
    report_truth = json.loads((out / REPORT_TRUTH).read_text())
    assert set(report_truth) <= set(ids) and set(report_truth.values()) == {o.id for o in truth.objects}


def test_labels_follow_the_scenario(salvo: tuple[Path, str]) -> None:
    out, _ = salvo
    for delivery in exercise.read_deliveries(out):
        label = delivery.report.label
        assert label.originator in {"KOR", "JPN", "USA"} and label.originator in label.releasable_to
        if delivery.report.id.startswith("KOR-DDG-991"):
            assert label.releasable_to == ("KOR", "USA")


def test_summary_names_missiles_sensors_and_partners(salvo: tuple[Path, str]) -> None:
    _, text = salvo
    assert "5 missile(s)" in text and "SRBM-5" in text and "USA-THAAD-SEONGJU" in text
    assert "reports per partner: JPN" in text and "overtaken" in text


TINY = """
name = "tiny"
start = 2024-01-01T00:00:00Z
[[partners]]
code = "KOR"
[[links]]
partner = "KOR"
latency_s = 1.0
jitter_s = 0.5
[[sensors]]
name = "GP"
kind = "ground_radar"
partner = "KOR"
site = "Busan"
max_range_km = 800
period_s = 2
false_alarms_per_scan = 0.2
[[launches]]
site = "Wonsan Kalma"
time_s = 10
azimuth_deg = 95
apogee_km = 100
range_km = 450
booster = "srbm"
"""


def test_the_seed_makes_runs_repeatable_and_different(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    scenario = load_scenario(path)
    first = simulate(scenario, seed=7)
    again = simulate(scenario, seed=7, targets=first.targets)
    other = simulate(scenario, seed=8, targets=first.targets)
    assert first.truth.objects[0].id == "M1" and first.sensors["GP"].detections > 20
    assert [d.report for d in first.deliveries] == [d.report for d in again.deliveries]
    assert [d.report for d in first.deliveries] != [d.report for d in other.deliveries]
    assert (
        main(["exercise", "simulate", str(path), "--out", str(tmp_path / "x"), "--seed", "-1", "--quiet"])
        == 2
    )


def test_plot_writes_a_png(salvo: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = salvo
    png = tmp_path / "map.png"
    assert main(["exercise", "plot", str(out), "--out", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


def test_plot_of_a_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    assert main(["exercise", "plot", str(tmp_path / "nothing")]) == 2
