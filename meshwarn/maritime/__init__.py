"""Maritime domain awareness: AIS ingest, simulated traffic, surface tracking and anomalies."""
