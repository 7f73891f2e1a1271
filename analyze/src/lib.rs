//! raceway-analyze (being built).
