//! boot2docker-style ISO images for vswarm.
//!
//! This crate will resolve a release (a GitHub-style releases API, its Atom feed, or the
//! cache), download it with resume and checksum verification into `$VSWARM_HOME/cache/`, and
//! read an ISO's ISO9660 volume id to know its version. It has no UI: progress is reported
//! through events.
//!
//! It is being built in the "images" issue; the lab serves it a release endpoint and an ISO.
