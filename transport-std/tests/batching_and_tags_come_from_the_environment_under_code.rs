//! `RACEWAY_BATCH_SIZE`, `RACEWAY_FLUSH_INTERVAL_MS` and `RACEWAY_TAGS` fill in what the code
//! leaves open, code wins (per key for tags), invalid values are errors naming the variable, and
//! `Config::builder()` alone reads no variable.

use std::collections::HashMap;
use std::time::Duration;

use raceway::{Config, ConfigError};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn the_environment_fills_in_batching_and_tags() {
    let vars = env(&[
        ("RACEWAY_BATCH_SIZE", "250"),
        ("RACEWAY_FLUSH_INTERVAL_MS", " 200 "),
        ("RACEWAY_TAGS", "team=payments, region = eu-west ,"),
    ]);
    let config = Config::builder().with_env_from(&vars).build().unwrap();
    assert_eq!(config.batch_size(), 250);
    assert_eq!(config.flush_interval(), Duration::from_millis(200));
    let tags: Vec<_> = config
        .tags()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(tags, [("region", "eu-west"), ("team", "payments")]);

    let config = Config::builder()
        .batch_size(10)
        .flush_interval(Duration::from_millis(50))
        .tag("team", "checkout")
        .with_env_from(&vars)
        .build()
        .unwrap();
    assert_eq!(config.batch_size(), 10);
    assert_eq!(config.flush_interval(), Duration::from_millis(50));
    let tags: Vec<_> = config
        .tags()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(tags, [("region", "eu-west"), ("team", "checkout")]);
}

#[test]
fn invalid_values_name_their_variable() {
    for (variable, value) in [
        ("RACEWAY_BATCH_SIZE", "many"),
        ("RACEWAY_BATCH_SIZE", "-1"),
        ("RACEWAY_FLUSH_INTERVAL_MS", "1s"),
        ("RACEWAY_TAGS", "team"),
        ("RACEWAY_TAGS", "=payments"),
    ] {
        let error = Config::builder()
            .with_env_from(env(&[(variable, value)]))
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, ConfigError::InvalidVariable { variable: v, .. } if *v == variable),
            "{variable}={value}: {error}"
        );
    }
    let zero = Config::builder()
        .with_env_from(env(&[("RACEWAY_BATCH_SIZE", "0")]))
        .build();
    assert!(zero.is_err());
}

#[test]
fn the_builder_alone_reads_no_variable() {
    // The process environment may hold anything; a builder that was not told to read it must
    // not depend on it. Set one variable to be sure there is something to ignore.
    // No other test in this process reads the process environment.
    std::env::set_var("RACEWAY_BATCH_SIZE", "7");
    assert_eq!(Config::builder().build().unwrap().batch_size(), 100);
    assert_eq!(Config::from_env().unwrap().batch_size(), 7);
}
