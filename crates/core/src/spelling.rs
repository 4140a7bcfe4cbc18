//! One spelling per value of a closed set: the enums whose values travel as strings (JSON,
//! DynamoDB attributes, metric labels, tables) declare each spelling once, and serde, `Display`,
//! `FromStr` and `as_str` all use it.

/// A string that is none of a closed set's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{found:?} is not one of {}", expected.join(", "))]
pub struct UnknownSpelling {
    /// What was given.
    pub found: String,
    /// Every accepted spelling.
    pub expected: &'static [&'static str],
}

/// Declares a fieldless enum with one spelling per variant: `Variant = "spelling"`. Derives are
/// the caller's; the macro adds `as_str`, `ALL`, `Display`, `FromStr`, `Serialize` and
/// `Deserialize`, all from that one spelling.
#[macro_export]
macro_rules! spelled_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $spelling:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The one spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $spelling),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::spelling::UnknownSpelling;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($spelling => Ok($name::$variant),)+
                    _ => Err($crate::spelling::UnknownSpelling {
                        found: s.to_owned(),
                        expected: &[$($spelling),+],
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    spelled_enum!(
        /// A test set.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Light {
            /// Go.
            Green = "green",
            /// Stop.
            RedAmber = "red-amber",
        }
    );

    #[test]
    fn one_spelling_for_serde_display_and_parsing() {
        for light in Light::ALL {
            let json = serde_json::to_string(light).unwrap();
            assert_eq!(json, format!("\"{light}\""));
            assert_eq!(serde_json::from_str::<Light>(&json).unwrap(), *light);
            assert_eq!(light.as_str().parse::<Light>().unwrap(), *light);
        }
        assert_eq!(Light::RedAmber.to_string(), "red-amber");
        let err = "amber".parse::<Light>().unwrap_err();
        assert_eq!(err.to_string(), r#""amber" is not one of green, red-amber"#);
        assert!(serde_json::from_str::<Light>("\"RedAmber\"").is_err());
    }
}
