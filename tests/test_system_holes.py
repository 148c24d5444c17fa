"""Boards with empty grid positions (docs/systems.md, "Empty positions"): the description's rules, the
trunk-row routes around the holes, the deadlock check, the spinnaker2-48 preset and engine-oracle agreement."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nmsim.describe.system import board_chip, core_routers, load_system
from nmsim.errors import ChipConfigError
from nmsim.sim import board_routes as br
from test_system import BASE, _parse

HOLES = BASE.replace('chips_x = { value = 2, source = "t" }\nchips_y = { value = 1, source = "t" }',
                     'chips_x = { value = 3, source = "t" }\nchips_y = { value = 3, source = "t" }\n'
                     'empty = { value = [[2, 0], [0, 2]], source = "t" }')


def test_holes_route_through_the_trunk_row(tmp_path):
    """3 x 3 grid without (2,0) and (0,2): row 1 is the trunk (row 0 is not full).  Hand-derived chip routes:
    (0,0) -> (2,2): N to (0,1), E E along row 1, N to (2,2); (1,0) -> (1,2) straight N N (same column);
    (2,1) -> (0,0): W W along the trunk, then S."""
    s, _ = _parse(HOLES, tmp_path)
    g = s.geometry()
    assert g["empty"] == (2, 6) and s.n_chips == 7 and br.trunk_row(g) == 1
    d = br.chip_dirs(g)
    E, W, N, S = br.PORT_E, br.PORT_W, br.PORT_N, br.PORT_S

    def walk(a, b):
        out, c = [], a
        while c != b:
            out.append(int(d[c, b]))
            c += {E: 1, W: -1, N: 3, S: -3}[out[-1]]
        return out
    assert walk(0, 8) == [N, E, E, N]
    assert walk(1, 7) == [N, N]
    assert walk(5, 0) == [W, W, S]
    # the cores: test-2x2 has 2 x 2 routers x 2 cores = 8 cores per chip; 7 chips -> 56, none on empty positions
    chip = board_chip(s)
    cr = core_routers(chip)
    assert chip.n_cores == 56 and cr.size == 56
    assert br.router_present(g)[cr].all() and np.all(np.diff(cr) >= 0)


HOLE_REJECTED = [
    ('[[2, 0], [0, 2]]', '[[3, 0]]', "board.empty: [3, 0] is outside the 3 x 3 grid of chips"),
    ('[[2, 0], [0, 2]]', '[[2, 0], [2, 0]]', "board.empty: [2, 0] is listed twice"),
    ('[[2, 0], [0, 2]]', '[[2, 0], 7]', "board.empty: expected [cx, cy] integer pairs, got 7"),
    ('[[2, 0], [0, 2]]', '"all"', "board.empty: expected a list of [cx, cy] pairs, got str 'all'"),
    # no full row: columns 0 and 1 have no trunk row between them
    ('[[2, 0], [0, 2]]', '[[2, 0], [0, 1], [1, 2]]',
     "board.empty: chip (0, 0) to chip (1, 0): no route (no row of chips is full"),
    # trunk row 0; column 1 is cut at (1, 1)
    ('[[2, 0], [0, 2]]', '[[1, 1]]', "board.empty: chip (1, 0) to chip (1, 2): no route (it would cross an empty "
     "position; routes go along the column to the trunk row 0"),
    ('[[2, 0], [0, 2]]', '[[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1], [0, 2], [1, 2], [2, 2]]',
     "board.empty: leaves no chip on the board"),
]


@pytest.mark.parametrize("old,new,problem", HOLE_REJECTED, ids=[r[2][:40] for r in HOLE_REJECTED])
def test_hole_rejections_are_one_line(tmp_path, old, new, problem):
    with pytest.raises(ChipConfigError) as exc:
        _parse(HOLES.replace(old, new, 1), tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{tmp_path / 'sys.toml'}: {problem}"), msg


def test_hole_without_source_is_rejected(tmp_path):
    with pytest.raises(ChipConfigError, match=r"board.empty: missing source"):
        _parse(HOLES.replace(', source = "t" }\n[ports]', ' }\n[ports]'), tmp_path)


def test_spinnaker2_48_preset():
    """48 chips: the SpiNN-5 hexagon in an 8 x 8 grid (rows of 5, 6, 7, 8, 7, 6, 5, 4 chips); 152 cores per chip
    (38 of the 42 router slots hold 4 PEs), trunk row 3, deadlock-free routes (checked when loading)."""
    s = load_system("spinnaker2-48")
    g = s.geometry()
    ok = br.chip_present(g).reshape(8, 8)
    assert ok.sum(axis=1).tolist() == [5, 6, 7, 8, 7, 6, 5, 4] and s.n_chips == 48
    assert br.trunk_row(g) == 3 and g["chip_cores"] == 152
    from nmsim.describe.chip import load_chip_variant

    cr = core_routers(board_chip(s.for_chip(load_chip_variant("spinnaker2", overrides={"noc.routing": "unicast"}))))
    assert cr.size == 48 * 152 and br.router_present(g)[cr].all()


N_HOLE_CASES = int(os.environ.get("NMSIM_ORACLE_CASES", "60"))


@pytest.mark.parametrize("seed", range(N_HOLE_CASES))
def test_engine_matches_oracle_on_random_boards_with_holes(seed):
    """Random 2-D boards of 3..4 x 2..4 positions with 1..n/3 empty ones (random_case(holes=True)): the engine
    and the SimPy oracle (its own chip-level rule, board_chip_step) agree on every step; the engine's
    deadlock check passes on each of them."""
    from nmsim.oracle import random_case
    from nmsim.oracle.compare import check_case
    from nmsim.sim import engine

    case = random_case(40_000 + seed, max_lif=100, max_host=8, max_steps=4, board=True, two_d=True, holes=True)
    assert case.model.meta["system"]["empty"]
    problems = check_case(case, lambda m, n, h: engine.simulate(m, n, h, record=("fired", "payload", "link_busy",
                                                                                "trace")))
    assert not problems, "\n".join(problems)
