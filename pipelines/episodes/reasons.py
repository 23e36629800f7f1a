"""Stable reason codes for quarantined episodes."""

UNREADABLE = "unreadable"            # the file or episode cannot be opened or decoded
UNSAFE_PICKLE = "unsafe_pickle"      # a pickle asks for a class outside the allow-list
MISSING_FIELD = "missing_field"      # a required array (observations, actions, ...) is absent
SHAPE_MISMATCH = "shape_mismatch"    # arrays of one episode disagree in length or width
EMPTY_EPISODE = "empty_episode"      # no transitions at all
BAD_FLAGS = "bad_flags"              # not exactly one is_first at the start and one is_last at the end
NON_FINITE = "non_finite"            # NaN or inf in observations, actions or rewards
ACTION_OUT_OF_SPACE = "action_out_of_space"
OBS_SHAPE_INCONSISTENT = "obs_shape_inconsistent"  # observation width differs from its source's
DUPLICATE_EPISODE = "duplicate_episode"
OVERSIZED = "oversized"              # a file declares more bytes than the size budget (checked before reading)

ALL = (UNREADABLE, UNSAFE_PICKLE, MISSING_FIELD, SHAPE_MISMATCH, EMPTY_EPISODE, BAD_FLAGS, NON_FINITE,
       ACTION_OUT_OF_SPACE, OBS_SHAPE_INCONSISTENT, DUPLICATE_EPISODE, OVERSIZED)
