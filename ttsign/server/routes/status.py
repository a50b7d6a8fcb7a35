"""Stub route module (filled in by a helper)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
