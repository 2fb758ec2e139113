"""When the reproduction evaluates: the bound on a log grid, the marginal likelihood at the
budgets the paper's figures and the tables compare (1e6, 1e7, 3e7, ...)."""
import pytest

from numpyvae.reproduce.runs import eval_grid, ml_eval_points


def test_figure3_estimates_fall_on_the_papers_budgets():
    # the paper's Figure 3: to 3e7 samples with the appendix-D estimates at 1e6, 1e7 and 3e7
    assert ml_eval_points(3e7, 100, 5) == [300_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000]
    assert ml_eval_points(1e8, 100, 3) == [10_000_000, 30_000_000, 100_000_000]


def test_the_estimate_at_the_budget_is_always_taken_and_points_are_whole_minibatches():
    points = ml_eval_points(5_050, 100, 4)
    assert points[-1] == 5_000 or points[-1] == 5_100                 # the budget, rounded to a minibatch
    assert all(p % 100 == 0 for p in points)
    assert points == sorted(set(points)) and min(points) >= 1_000     # at least 10 minibatches


@pytest.mark.parametrize("n", [1, 2, 6])
def test_as_many_estimates_as_asked_when_the_grid_has_them(n):
    assert len(ml_eval_points(3e7, 100, n)) == n


def test_the_bound_grid_ends_at_the_budget_and_is_log_spaced():
    grid = eval_grid(100, 1e6, per_decade=6)
    assert grid[0] == 1_000 and grid[-1] == 1_000_000
    assert 10_000 in grid and 100_000 in grid
    assert len([p for p in grid if 10_000 <= p < 100_000]) == 6


def test_zero_estimates_is_refused_not_read_as_all():
    with pytest.raises(ValueError, match="ml_evals must be an integer >= 1"):
        ml_eval_points(3e7, 100, 0)


@pytest.mark.parametrize("options,message", [
    ({"weight_decay": "tau"}, "weight_decay .* must be a real number"),
    ({"weight_decay": -1e-3}, "weight_decay .* must be a finite number >= 0"),
    ({"init_scale": 0.0}, "init_scale must be a positive number"),
])
def test_a_run_spec_refuses_a_bad_prior_weight_or_initial_scale(options, message):
    from numpyvae.reproduce.runs import make_spec

    with pytest.raises(ValueError, match=message):
        make_spec("frey", 5, "aevb", 1e6, "/tmp/unused", **options)


def test_the_variants_table_shows_a_run_without_a_recorded_step_size():
    from numpyvae.reproduce.variants import variants_markdown

    row = {"data": "mnist", "n_z": 3, "method": "aevb", "seed": 0, "lr": None, "weight_decay": "1/N",
           "init_scale": 0.01, "n_train": None, "samples": 10 ** 6, "train": -150.0, "test": -151.0,
           "paper_test": -152.9, "folder": "out/run"}
    line = variants_markdown([row]).splitlines()[-1]
    assert "| n/a |" in line and "| +1.9 |" in line


def test_the_pilot_picks_the_lowest_loss_and_says_in_one_line_which_step_size_diverged(tmp_path, monkeypatch):
    import json
    import warnings

    from numpyvae.reproduce import paper
    from numpyvae.reproduce.runs import choose_lr, load_data, make_spec, run_dir
    monkeypatch.setattr(paper, "LR_CANDIDATES", (0.05, 0.01, 1e30))    # 1e30: overflows at its first steps
    spec = make_spec("synthetic", 2, "aevb", 1000, tmp_path, hidden=8, pilot=2000)
    x_train, _, _ = load_data(spec)
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                    # no NumPy RuntimeWarning escapes
        lr = choose_lr(spec, x_train, log=lines.append)
    stored = json.loads((run_dir(spec) / "lr_selection.json").read_text())
    losses = {float(k): v for k, v in stored["scores"].items()}
    assert losses[1e30] is None and lr == min((0.05, 0.01), key=losses.get) and stored["lr"] == lr
    assert losses[0.05] != losses[0.01]
    assert lines[-1] == ("  step size 1e+30: diverged in the pilot (its loss became non-finite, "
                         "after a floating-point overflow)")
    assert choose_lr(spec, x_train, log=lines.append) == lr and len(lines) == 4       # read back, no new pilot
