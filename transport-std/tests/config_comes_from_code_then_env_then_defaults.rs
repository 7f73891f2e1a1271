//! Configuration: defaults, `RACEWAY_*` variables under values set in code (batching and tags
//! included; `Config::builder()` alone reads no variable), clear errors for invalid values, an
//! observable "server URL configured" flag, and an API key never shown.

use std::collections::HashMap;
use std::time::Duration;

use raceway::config::{InvalidUrl, DEFAULT_SERVER_URL};
use raceway::{Config, ConfigError};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn defaults() {
    let config = Config::builder().with_env_from(env(&[])).build().unwrap();
    assert_eq!(config.server_url().as_str(), DEFAULT_SERVER_URL);
    assert!(config.configured_server_url().is_none());
    assert_eq!(config.service_name(), "unknown-service");
    assert_eq!(config.environment(), "development");
    assert_eq!(config.batch_size(), 100);
    assert_eq!(config.flush_interval(), Duration::from_secs(1));
    assert!(!config.debug());
    assert!(config.api_key().is_none());
    assert!(config.tags().is_empty());
    let pid = std::process::id().to_string();
    let (host, suffix) = config.instance_id().rsplit_once('-').unwrap();
    assert_eq!(suffix, pid);
    assert!(!host.is_empty());
}

#[test]
fn environment_fills_in_and_code_wins() {
    let vars = env(&[
        ("RACEWAY_URL", "https://raceway.example.com/"),
        ("RACEWAY_SERVICE_NAME", "from-env"),
        ("RACEWAY_INSTANCE_ID", "pod-7"),
        ("RACEWAY_ENV", "staging"),
        ("RACEWAY_API_KEY", "env-key"),
        ("RACEWAY_DEBUG", "TRUE"),
    ]);
    let config = Config::builder().with_env_from(&vars).build().unwrap();
    assert_eq!(
        config.configured_server_url().unwrap().as_str(),
        "https://raceway.example.com"
    );
    assert_eq!(config.service_name(), "from-env");
    assert_eq!(config.instance_id(), "pod-7");
    assert_eq!(config.environment(), "staging");
    assert_eq!(config.api_key().unwrap().expose(), "env-key");
    assert!(config.debug());
    assert_eq!(config.clock_component(), "from-env#pod-7");

    // Set in code wins, whatever the call order.
    let config = Config::builder()
        .service_name("from-code")
        .debug(false)
        .with_env_from(&vars)
        .server_url("http://127.0.0.1:9000")
        .build()
        .unwrap();
    assert_eq!(config.service_name(), "from-code");
    assert!(!config.debug());
    assert_eq!(config.server_url().as_str(), "http://127.0.0.1:9000");
    assert_eq!(config.environment(), "staging");

    // Empty variables count as unset.
    let config = Config::builder()
        .with_env_from(env(&[("RACEWAY_URL", ""), ("RACEWAY_SERVICE_NAME", "")]))
        .build()
        .unwrap();
    assert!(config.configured_server_url().is_none());
    assert_eq!(config.service_name(), "unknown-service");
}

#[test]
fn invalid_values_are_clear_errors() {
    let cases: Vec<(raceway::ConfigBuilder, ConfigError)> = vec![
        (Config::builder().batch_size(0), ConfigError::ZeroBatchSize),
        (
            Config::builder().flush_interval(Duration::ZERO),
            ConfigError::ZeroFlushInterval,
        ),
        (
            Config::builder().lane_capacity(0),
            ConfigError::LaneCapacity(0),
        ),
        (
            Config::builder().service_name(""),
            ConfigError::Empty("service_name"),
        ),
        (
            Config::builder().server_url("localhost:8080"),
            ConfigError::InvalidUrl {
                origin: "server_url",
                url: "localhost:8080".into(),
                reason: InvalidUrl::Scheme,
            },
        ),
        (
            Config::builder().with_env_from(env(&[("RACEWAY_URL", "http://bad host")])),
            ConfigError::InvalidUrl {
                origin: "RACEWAY_URL",
                url: "http://bad host".into(),
                reason: InvalidUrl::Characters,
            },
        ),
        (
            Config::builder().with_env_from(env(&[("RACEWAY_DEBUG", "maybe")])),
            ConfigError::InvalidVariable {
                variable: "RACEWAY_DEBUG",
                value: "maybe".into(),
                expected: "1, true, yes, on, 0, false, no or off",
            },
        ),
        (
            Config::builder().api_key("line\nbreak"),
            ConfigError::InvalidApiKey,
        ),
    ];
    for (builder, expected) in cases {
        let error = builder.build().unwrap_err();
        assert_eq!(error, expected);
        assert!(!error.to_string().is_empty());
    }
    let message = Config::builder()
        .server_url("ftp://x")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("ftp://x") && message.contains("http://"),
        "{message}"
    );
}

#[test]
fn the_api_key_is_never_shown() {
    let config = Config::builder()
        .api_key("sk-live-123456")
        .with_env_from(env(&[]))
        .build()
        .unwrap();
    assert!(!format!("{config:?}").contains("sk-live-123456"));
    assert!(!format!("{:?}", config.api_key()).contains("sk-live-123456"));
    let builder = Config::builder().api_key("sk-live-123456");
    assert!(!format!("{builder:?}").contains("sk-live-123456"));
    let error = Config::builder().api_key("sk live").build().unwrap_err();
    assert!(!error.to_string().contains("sk live"));
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
fn the_environment_sets_when_delivery_gives_up_unless_code_does() {
    assert_eq!(
        Config::builder()
            .with_env_from(env(&[]))
            .build()
            .unwrap()
            .give_up_after(),
        None
    );
    let vars = env(&[("RACEWAY_GIVE_UP_AFTER_MS", "30000")]);
    let config = Config::builder().with_env_from(&vars).build().unwrap();
    assert_eq!(config.give_up_after(), Some(Duration::from_secs(30)));
    let config = Config::builder()
        .give_up_after(Duration::from_secs(5))
        .with_env_from(&vars)
        .build()
        .unwrap();
    assert_eq!(config.give_up_after(), Some(Duration::from_secs(5)));
}

#[test]
fn invalid_values_name_their_variable() {
    for (variable, value) in [
        ("RACEWAY_BATCH_SIZE", "many"),
        ("RACEWAY_BATCH_SIZE", "-1"),
        ("RACEWAY_FLUSH_INTERVAL_MS", "1s"),
        ("RACEWAY_GIVE_UP_AFTER_MS", "soon"),
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
