"""Offline doubles of the outside world; :mod:`tests.fakes.tiktok` is the fake TikTok."""
