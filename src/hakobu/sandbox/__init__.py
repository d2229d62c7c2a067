"""The local AWS: the emulator process hakobu starts on loopback, and what runs inside it."""
