//! Compose v3 files (being written).
