"""tinn-dist: theory-informed reinforcement learning for collider-event reconstruction."""

__version__ = "0.1.0"
