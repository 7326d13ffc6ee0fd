"""HTTP intake: decode Mixpanel's wire encodings, validate, normalise, append to the log."""
