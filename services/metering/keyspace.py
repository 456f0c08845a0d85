"""The metering service's Redis namespace: every key it owns starts with NS."""

NS = "wavis:metering"
