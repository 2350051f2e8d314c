"""Health challenges (健康挑战): admins define them, patients join, check in once a
local day, climb a nickname-only leaderboard, and are rewarded once on completion."""
