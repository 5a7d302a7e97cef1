"""Typed messages that every stage speaks.

The model knows nothing of the rest of meshwarn. Conventions (DESIGN.md):
- times are POSIX seconds, UTC (``float``): cheap to do arithmetic on in the
  estimators, and unambiguous; the edges (CAP, CoT, the web page) format them;
- positions are WGS84 latitude and longitude in degrees, height in metres;
- partners are ISO 3166 alpha-3 codes;
- units are in the field name where they are not SI.

On the bus messages are MessagePack, at the edges JSON; both go through the
encoders below, so a round trip is exact and malformed input raises a
:class:`MessageError` that names the field.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

Partner = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
Latitude = Annotated[float, Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Meta(ge=-180.0, le=360.0)]
NonNegative = Annotated[float, Meta(ge=0.0)]
Positive = Annotated[float, Meta(gt=0.0)]

# Ordered from least to most restrictive; a fused product takes the highest.
CLASSIFICATIONS: tuple[str, ...] = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET")
Classification = Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"]


class MessageError(ValueError):
    """A message that does not decode or validate; the text names the field."""


class Label(Struct, frozen=True, forbid_unknown_fields=True):
    """Who made a report and who may see it. Missing label fields fail closed."""

    originator: Partner
    classification: Classification
    releasable_to: tuple[Partner, ...]


# --- observations (the body of a report) -----------------------------------


class RadarPlot(Struct, frozen=True, tag="radar", forbid_unknown_fields=True, omit_defaults=True):
    """One radar detection, in the sensor's local east-north-up frame.

    The sensor's own position at the time of the plot travels with it, so a
    ship-borne radar needs no separate navigation feed.
    """

    time: float
    sensor: str
    sensor_lat: Latitude
    sensor_lon: Longitude
    sensor_h: float
    range_m: NonNegative
    azimuth_deg: float
    elevation_deg: float
    sigma_range_m: Positive
    sigma_azimuth_deg: Positive
    sigma_elevation_deg: Positive
    range_rate_mps: float | None = None
    sigma_range_rate_mps: Positive | None = None
    # On a ship or aircraft: the plot then also tells where that unit is (the guard applies the
    # own-unit-position terms to it).
    sensor_moving: bool = False


class InfraredLos(Struct, frozen=True, tag="ir", forbid_unknown_fields=True, omit_defaults=True):
    """An angles-only line of sight from a space-based infrared sensor to a hot plume.

    Azimuth and elevation are in the east-north-up frame at the satellite's
    geodetic position (a geostationary satellite looks down: elevation < 0).
    """

    time: float
    sensor: str
    sensor_lat: Latitude
    sensor_lon: Longitude
    sensor_h: float
    azimuth_deg: float
    elevation_deg: float
    sigma_deg: Positive
    intensity: NonNegative = 0.0


class UnitPosition(Struct, frozen=True, tag="unit", forbid_unknown_fields=True, omit_defaults=True):
    """A partner's own ship or aircraft reporting where it is."""

    time: float
    unit: str
    lat: Latitude
    lon: Longitude
    h: float
    speed_mps: NonNegative
    course_deg: float


class AisPosition(Struct, frozen=True, tag="ais", forbid_unknown_fields=True, omit_defaults=True):
    """An AIS position report (message types 1, 2, 3, 18, 19, 27) as a vessel broadcast it.

    Unavailable speed, course or heading are None; ``raw`` keeps the NMEA sentence(s) when known.
    """

    time: float
    mmsi: int
    lat: Latitude
    lon: Longitude
    sog_knots: float | None = None
    cog_deg: float | None = None
    heading_deg: float | None = None
    nav_status: int | None = None
    msg_type: int = 1
    source: str = ""  # receiving station or feed
    raw: str = ""


class AisStatic(Struct, frozen=True, tag="ais_static", forbid_unknown_fields=True, omit_defaults=True):
    """AIS static and voyage data (message types 5, 19 and 24) for one MMSI."""

    time: float
    mmsi: int
    name: str = ""
    callsign: str = ""
    imo: int = 0
    ship_type: int = 0
    length_m: float = 0.0
    beam_m: float = 0.0
    destination: str = ""
    msg_type: int = 5
    source: str = ""


SurfaceSensorKind = Literal["coastal_radar", "patrol_aircraft", "satellite"]


class SurfaceDetection(Struct, frozen=True, tag="surface", forbid_unknown_fields=True, omit_defaults=True):
    """A vessel seen by radar or imagery: where, when and how long, but not who."""

    time: float
    sensor: str
    sensor_kind: SurfaceSensorKind
    lat: Latitude
    lon: Longitude
    sigma_m: Positive
    length_m: float | None = None


AnomalyKind = Literal["dark_vessel", "ais_gap", "spoofing", "loitering", "rendezvous", "zone_entry"]


Observation = RadarPlot | InfraredLos | UnitPosition | AisPosition | AisStatic | SurfaceDetection


class Report(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A labelled (and, once a partner node has handled it, signed) observation.

    Reports and observations leave default fields out of their encoding, so the bytes a
    signature covers do not change when a later version adds an optional field."""

    id: str
    label: Label
    sent: float
    body: Observation
    signature: str = ""  # base64 Ed25519 over the canonical bytes; "" until signed

    @property
    def kind(self) -> str:
        return type(self.body).__struct_config__.tag  # type: ignore[return-value]


class Delivery(Struct, frozen=True, forbid_unknown_fields=True):
    """A report as the hub receives it: when it arrived, and what it is."""

    arrival: float
    report: Report


# --- products of the hub ----------------------------------------------------


class Ellipse(Struct, frozen=True, forbid_unknown_fields=True):
    """A 95% ellipse on the ground: centre, semi-axes and the major axis' bearing."""

    lat: Latitude
    lon: Longitude
    semi_major_km: NonNegative
    semi_minor_km: NonNegative
    bearing_deg: float


class LaunchEstimate(Struct, frozen=True, forbid_unknown_fields=True):
    lat: Latitude
    lon: Longitude
    time: float
    sigma_km: NonNegative


class ImpactPrediction(Struct, frozen=True, forbid_unknown_fields=True):
    """Where and when the object is predicted to come down, and the path to it.

    ``ground_track`` holds [time, lat, lon, height_m] samples from now to impact;
    ``track_sigma_km`` the cross-track 95% half-width at each sample.
    """

    time: float
    sigma_time_s: NonNegative
    ellipse: Ellipse
    ground_track: list[tuple[float, float, float, float]] = []
    track_sigma_km: list[float] = []


TrackStatus = Literal["tentative", "confirmed", "coasting", "deleted"]
Phase = Literal["boost", "ballistic", "surface", "unknown"]


class Track(Struct, frozen=True, forbid_unknown_fields=True):
    """A fused estimate of one object, as shared with a partner."""

    id: str
    time: float
    status: TrackStatus
    phase: Phase
    lat: Latitude
    lon: Longitude
    h: float
    velocity_ecef: tuple[float, float, float]
    sigma_position_m: NonNegative
    provenance: tuple[Partner, ...]
    classification: Classification = "UNCLASSIFIED"
    domain: Literal["missile", "surface"] = "missile"
    position_ecef: tuple[float, float, float] = (0.0, 0.0, 0.0)
    covariance: tuple[float, ...] = ()  # 6x6 ECEF position-velocity, row-major, m and m/s
    launch: LaunchEstimate | None = None
    impact: ImpactPrediction | None = None
    report_count: int = 0


AlertType = Literal["Alert", "Update", "Cancel"]
AlertReason = Literal["overflight", "impact", "maritime_zone"]


class Alert(Struct, frozen=True, forbid_unknown_fields=True):
    """A warning to one region for one event; updates and cancels reference it."""

    id: str
    event_id: str
    track_id: str
    region_code: str
    region_name: str
    country: Partner
    msg_type: AlertType
    reason: AlertReason
    sent: float
    expected_time: float  # predicted overflight or impact time
    headline: str
    references: tuple[str, ...] = ()
    polygon: list[tuple[float, float]] = []  # (lat, lon) ring of the area at risk
    provenance: tuple[Partner, ...] = ()
    classification: Classification = "UNCLASSIFIED"


# --- encoding -----------------------------------------------------------------

_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()
T = TypeVar("T")


def to_json(message: Struct) -> bytes:
    return _json_encoder.encode(message)


def to_msgpack(message: Struct) -> bytes:
    return _msgpack_encoder.encode(message)


_json_decoders: dict[type, msgspec.json.Decoder] = {}
_msgpack_decoders: dict[type, msgspec.msgpack.Decoder] = {}


def from_json(data: bytes | str, cls: type[T]) -> T:
    decoder = _json_decoders.get(cls) or _json_decoders.setdefault(cls, msgspec.json.Decoder(cls))
    try:
        return decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MessageError(f"invalid {cls.__name__}: {exc}") from None


def from_msgpack(data: bytes, cls: type[T]) -> T:
    decoder = _msgpack_decoders.get(cls) or _msgpack_decoders.setdefault(cls, msgspec.msgpack.Decoder(cls))
    try:
        return decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MessageError(f"invalid {cls.__name__}: {exc}") from None


def most_restrictive(classifications: list[str] | tuple[str, ...]) -> str:
    """The classification of a product made from reports of these classifications."""
    if not classifications:
        return "UNCLASSIFIED"
    return max(classifications, key=CLASSIFICATIONS.index)


# --- ground truth and sensor descriptions (written by the simulator, read by score and plots) ---


class SensorInfo(Struct, frozen=True, forbid_unknown_fields=True):
    """A sensor as the scenario placed it; for pictures and scoring, never for the tracker."""

    name: str
    partner: Partner
    kind: Literal["ground_radar", "ship_radar", "ir_satellite"]
    lat: Latitude
    lon: Longitude
    h: float
    max_range_km: float
    azimuth_min_deg: float = 0.0
    azimuth_max_deg: float = 360.0
    min_elevation_deg: float = 0.0


class TruthObject(Struct, frozen=True, forbid_unknown_fields=True):
    """What really flew (or sailed). samples: (time, lat, lon, h, x, y, z, vx, vy, vz), ECEF in m."""

    id: str
    kind: Literal["missile", "vessel"]
    launch_time: float
    launch_lat: Latitude
    launch_lon: Longitude
    impact_time: float
    impact_lat: Latitude
    impact_lon: Longitude
    apogee_km: float
    range_km: float
    burnout_time: float
    samples: list[tuple[float, float, float, float, float, float, float, float, float, float]]


class Truth(Struct, frozen=True, forbid_unknown_fields=True):
    scenario: str
    start_time: float
    end_time: float
    objects: list[TruthObject]
    sensors: list[SensorInfo]


# --- maritime domain (AIS, identity-less surface detections, anomalies) -----------------------------


class Anomaly(Struct, frozen=True, forbid_unknown_fields=True):
    """A maritime anomaly, with the reports that show it and the partners they came from."""

    id: str
    kind: AnomalyKind
    time: float  # when it began (or was first seen)
    end_time: float
    lat: Latitude
    lon: Longitude
    tracks: tuple[str, ...]  # vessel track ids
    mmsi: tuple[int, ...] = ()
    evidence: tuple[str, ...] = ()  # report ids
    evidence_partners: tuple[Partner, ...] = ()
    provenance: tuple[Partner, ...] = ()
    classification: Classification = "UNCLASSIFIED"
    zone: str = ""
    detail: str = ""
