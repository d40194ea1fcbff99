"""Flow control: one sequencer workflow per target and key (config/flow.py)."""
