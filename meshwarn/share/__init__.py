"""The guard: agreements, labels and signatures, releasability-aware fusion, per-partner views, audit.

- :mod:`~meshwarn.share.agreements`  who shares what with whom (TOML), at what precision and delay
- :mod:`~meshwarn.share.signing`     Ed25519 over canonical MessagePack; the per-exercise key ring
- :mod:`~meshwarn.share.guard`       verification of incoming reports; releasability and redaction
- :mod:`~meshwarn.share.hub`         the asyncio pipeline: verify -> fuse per entitlement group -> share
- :mod:`~meshwarn.share.audit`       the hash-chained audit log and `meshwarn audit verify`
- :mod:`~meshwarn.share.run`         one exercise end to end on the embedded bus
- :mod:`~meshwarn.share.compare`     what one sharing arrangement changes against another
- :mod:`~meshwarn.share.warnhook`    the warn stage, one alert manager per entitlement group
"""
