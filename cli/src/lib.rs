//! raceway-cli (being built).
