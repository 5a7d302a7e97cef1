"""`meshwarn fly` and the simulator's exercise steps."""

from __future__ import annotations

import argparse
import json

from meshwarn.errors import InputError
from meshwarn.sim.flight import solve_burnout, solve_launch


def register(top: argparse._SubParsersAction, exercise: argparse._SubParsersAction) -> None:
    fly = top.add_parser("fly", help="fly one ballistic launch and print its figures")
    fly.add_argument("--launch", required=True, metavar="LAT,LON", help="launch point, degrees")
    fly.add_argument("--azimuth", required=True, type=float, metavar="DEG")
    fly.add_argument("--apogee-km", type=float)
    fly.add_argument("--range-km", type=float)
    fly.add_argument("--burnout-speed", type=float, metavar="M/S", help="instead of apogee and range")
    fly.add_argument("--flight-path-deg", type=float, help="burnout flight-path angle, with --burnout-speed")
    fly.add_argument("--booster", choices=["srbm", "irbm", "slbm", "icbm"], help="default: by size")
    fly.add_argument("--track", action="store_true", help="include the ground track")
    fly.add_argument("--track-step", type=float, default=10.0, metavar="S")
    fly.add_argument("--json", action="store_true", help="print JSON (default: a short text)")
    fly.set_defaults(func=cmd_fly)


def parse_latlon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"expected LAT,LON in degrees, got {text!r}") from None
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat:g} is outside -90..90")
    if not -180.0 <= lon <= 360.0:
        raise InputError(f"longitude {lon:g} is outside -180..360")
    return lat, lon


def cmd_fly(args: argparse.Namespace) -> int:
    lat, lon = parse_latlon(args.launch)
    if args.burnout_speed is not None or args.flight_path_deg is not None:
        if args.burnout_speed is None or args.flight_path_deg is None:
            raise InputError("--burnout-speed and --flight-path-deg go together")
        trajectory = solve_burnout(
            lat, lon, args.azimuth, args.burnout_speed, args.flight_path_deg, booster=args.booster
        )
    else:
        if args.apogee_km is None or args.range_km is None:
            raise InputError("give --apogee-km and --range-km (or --burnout-speed and --flight-path-deg)")
        trajectory = solve_launch(lat, lon, args.azimuth, args.apogee_km, args.range_km, booster=args.booster)
    result: dict[str, object] = dict(trajectory.summary())
    if args.track:
        result["ground_track"] = [
            {"t_s": round(t, 1), "lat": round(a, 5), "lon": round(o, 5), "h_km": round(h / 1000, 3)}
            for t, a, o, h in trajectory.ground_track(args.track_step)
        ]
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            if key != "ground_track":
                print(f"{key:>18}: {value}")
    return 0
