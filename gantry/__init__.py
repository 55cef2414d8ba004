"""gantry: ship containerised services to two regions, on a local target or on AWS."""

__version__ = "0.1.0"
