"""Host applications that embed the auth API, started by the live tests under real servers."""
