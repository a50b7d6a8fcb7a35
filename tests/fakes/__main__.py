"""``python -m tests.fakes [--host H] [--port N]``: run the fake TikTok alone."""

from tests.fakes.tiktok import main

if __name__ == "__main__":
    main()
