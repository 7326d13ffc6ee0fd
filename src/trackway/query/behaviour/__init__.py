"""Behavioural reports: answers that depend on the order of each user's events (funnels,
retention, flows, frequency, lifecycle), computed in one pass per user over the
(user, time)-sorted shards."""
