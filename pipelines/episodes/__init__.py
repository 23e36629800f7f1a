"""Robot episodes: many source formats in, one validated episode schema out.

RLDS semantics (one row per step, ``is_first``/``is_last``/``is_terminal``), Parquet storage, no
TensorFlow; exportable to LeRobotDataset v3 and Minari.
"""
