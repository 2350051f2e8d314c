"""Booking (体检预约): locations, schedules, slots, capacity, the waitlist, check-in."""
