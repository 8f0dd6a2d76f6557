"""CPU renderers of the emulator: face swap and talking-head avatar videos (numpy, OpenCV, PyAV)."""
