"""The pure core: decisions from data and a clock. No I/O, no clock reads, no adapter imports."""
