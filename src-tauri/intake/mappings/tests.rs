use super::*;
use serde_json::json;

fn spec(name: &str, field_type: FieldType, required: bool) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        field_type,
        required,
        values: Vec::new(),
        description: None,
    }
}

fn schema() -> Vec<FieldSpec> {
    vec![
        spec("firstName", FieldType::Text, true),
        spec("lastName", FieldType::Text, false),
        spec("phone", FieldType::Phone, false),
        spec("dob", FieldType::Date, false),
        spec("clinic", FieldType::Text, false),
    ]
}

fn mapping(fields: Value, event: Option<Value>) -> Mapping {
    Mapping {
        id: MappingId::new(),
        source_id: SourceId::new(),
        name: "m".into(),
        event: event.map(|e| serde_json::from_value(e).unwrap()),
        integration_id: IntegrationId::new(),
        fields: serde_json::from_value(fields).unwrap(),
        session: None,
        sync: SyncFrequency::Realtime,
        enabled: true,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn message<'a>(body: &'a Value, headers: &'a Map<String, Value>) -> Message<'a> {
    Message {
        body,
        headers,
        message_id: "msg_1",
    }
}

#[test]
fn pointers_constants_joins_and_transforms_make_the_handoff_data() {
    let m = mapping(
        json!([
            {"field": "firstName", "value": {"pointer": "/patient/name"}, "transforms": [{"type": "splitName", "part": "first"}]},
            {"field": "lastName", "value": {"pointer": "/patient/name"}, "transforms": [{"type": "splitName", "part": "last"}]},
            {"field": "phone", "value": {"pointer": "/patient/phone"}, "transforms": [{"type": "phone"}]},
            {"field": "dob", "value": {"pointer": "/patient/dob"}, "transforms": [{"type": "date", "from": "%m/%d/%Y"}]},
            {"field": "clinic", "value": {"join": {"pointers": ["/clinic/code", "/clinic/room"], "separator": "-"}}, "transforms": [{"type": "trim"}, {"type": "uppercase"}]}
        ]),
        None,
    );
    let body = json!({"patient": {"name": "  Ana  Lima Souza ", "phone": "(555) 123-4567", "dob": "03/07/1990"},
                      "clinic": {"code": "ab", "room": 7}});
    let headers = Map::new();
    let mapped = m.apply(&message(&body, &headers)).unwrap();
    assert_eq!(mapped.session_id, "msg_1");
    assert_eq!(
        Value::Object(mapped.data),
        json!({"firstName": "Ana", "lastName": "Lima Souza", "phone": "+15551234567",
               "dob": "1990-03-07", "clinic": "AB-7"})
    );
}

#[test]
fn a_last_comma_first_name_and_international_numbers_are_read_as_written() {
    assert_eq!(split_name("Souza, Ana"), ("Ana".into(), "Souza".into()));
    assert_eq!(split_name(""), (String::new(), String::new()));
    let phone = |s: &str, cc: Option<&str>| {
        transform(
            &Transform::Phone {
                default_country_code: cc.map(str::to_string),
            },
            json!(s),
        )
    };
    assert_eq!(
        phone("+44 20 7946 0958", None).unwrap(),
        json!("+442079460958")
    );
    assert_eq!(
        phone("0044 20 7946 0958", None).unwrap(),
        json!("+442079460958")
    );
    assert_eq!(
        phone("1-555-123-4567", None).unwrap(),
        json!("+15551234567")
    );
    assert_eq!(
        phone("020 7946 0958", Some("44")).unwrap(),
        json!("+442079460958")
    );
    assert!(phone("12", None).is_err());
}

#[test]
fn a_missing_optional_value_is_left_out_and_a_bad_one_names_its_field_not_its_value() {
    let m = mapping(
        json!([
            {"field": "firstName", "value": {"pointer": "/first"}, "transforms": [{"type": "trim"}]},
            {"field": "dob", "value": {"pointer": "/dob"}, "transforms": [{"type": "date", "from": "%m/%d/%Y"}]},
            {"field": "lastName", "value": {"pointer": "/nowhere"}}
        ]),
        None,
    );
    let headers = Map::new();
    let body = json!({"first": "Ana"});
    let mapped = m.apply(&message(&body, &headers)).unwrap();
    assert_eq!(Value::Object(mapped.data), json!({"firstName": "Ana"}));

    let body = json!({"first": "Ana", "dob": "1990-31-31-secret"});
    let problems = m.apply(&message(&body, &headers)).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "dob");
    assert!(
        !problems[0].reason.contains("secret"),
        "{}",
        problems[0].reason
    );

    let body = json!({"first": {"nested": true}});
    let problems = m.apply(&message(&body, &headers)).unwrap_err();
    assert_eq!(problems[0].field, "firstName");
}

#[test]
fn the_mapping_whose_event_matches_is_chosen_before_the_catch_all() {
    let fields = json!([{"field": "firstName", "value": {"constant": "x"}}]);
    let booked = mapping(
        fields.clone(),
        Some(json!({"pointer": "/event", "equals": "appointment.booked"})),
    );
    let by_header = mapping(
        fields.clone(),
        Some(json!({"header": "X-Event-Type", "equals": "patient.created"})),
    );
    let any = mapping(fields.clone(), None);
    let mut off = mapping(
        fields,
        Some(json!({"pointer": "/event", "equals": "appointment.cancelled"})),
    );
    off.enabled = false;
    let all = vec![any.clone(), booked.clone(), by_header.clone(), off];
    let none = Map::new();
    let mut headers = Map::new();
    headers.insert("x-event-type".into(), json!("patient.created"));

    let body = json!({"event": "appointment.booked"});
    assert_eq!(choose(&all, &message(&body, &none)).unwrap().id, booked.id);
    let body = json!({"event": "other"});
    assert_eq!(
        choose(&all, &message(&body, &headers)).unwrap().id,
        by_header.id
    );
    assert_eq!(choose(&all, &message(&body, &none)).unwrap().id, any.id);
    let body = json!({"event": "appointment.cancelled"});
    assert_eq!(
        choose(&all, &message(&body, &none)).unwrap().id,
        any.id,
        "a disabled mapping took it"
    );
    assert!(choose(&all[1..3], &message(&body, &none)).is_none());
}

#[test]
fn a_mapping_is_checked_against_the_integrations_fields() {
    let settings = |fields: Value, event: Option<Value>| MappingSettings {
        source_id: SourceId::new(),
        name: "new patient".into(),
        event: event.map(|e| serde_json::from_value(e).unwrap()),
        integration_id: IntegrationId::new(),
        fields: serde_json::from_value(fields).unwrap(),
        session: None,
        sync: SyncFrequency::Manual,
        enabled: true,
    };
    let ok = settings(
        json!([{"field": "firstName", "value": {"pointer": "/first"}}]),
        None,
    );
    assert!(ok.check(&schema()).is_empty(), "{:?}", ok.check(&schema()));

    let bad = settings(
        json!([
            {"field": "nope", "value": {"pointer": "first"}},
            {"field": "lastName", "value": {"pointer": "/a~2b"}},
            {"field": "lastName", "value": {"constant": "x"}},
            {"field": "dob", "value": {"constant": "not a date"}},
            {"field": "phone", "value": {"pointer": "/p"}, "transforms": [{"type": "date", "from": "%Q%"}, {"type": "phone", "defaultCountryCode": "x"}]}
        ]),
        Some(json!({"pointer": "/type", "header": "X-Type", "equals": ""})),
    );
    let fields: Vec<String> = bad.check(&schema()).into_iter().map(|p| p.field).collect();
    for expected in [
        "fields[0].field",
        "fields[0].value.pointer",
        "fields[1].value.pointer",
        "fields[2].field",
        "fields[3].value.constant",
        "fields[4].transforms[0].from",
        "fields[4].transforms[1].defaultCountryCode",
        "event",
        "event.equals",
        "fields",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} not named: {fields:?}"
        );
    }
}

#[test]
fn a_masked_body_shows_mapped_values_masked_and_hides_the_rest() {
    let m = mapping(
        json!([{"field": "phone", "value": {"pointer": "/p/phone"}},
               {"field": "firstName", "value": {"pointer": "/p/first"}}]),
        None,
    );
    let body = json!({"p": {"phone": "555-123-4567", "first": "Ana", "ssn": "123-45-6789"}, "n": 3, "list": ["x"]});
    let masked = masked_body(&body, &m.pointers(), &schema());
    let text = masked.to_string();
    for secret in ["123-45-6789", "Ana", "555-123-4567"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    assert_eq!(masked["p"]["ssn"], HIDDEN);
    assert_eq!(masked["n"], HIDDEN);
    assert_eq!(masked["list"][0], HIDDEN);
    assert!(
        masked["p"]["phone"].as_str().unwrap().ends_with("4567"),
        "{masked}"
    );
}

/// Any body, any mapping of pointers and transforms: applying never panics.
#[test]
fn random_bodies_and_mappings_never_panic() {
    use rand::{Rng, RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let pieces = [
        "", "/", "/a", "/a/0", "/~0", "/~1", "/a/b/c", "/0", "/é", "/a/-",
    ];
    let texts = [
        "",
        " ",
        "Ana Lima",
        "Lima, Ana",
        "03/07/1990",
        "+1 (555) 000-1111",
        "00",
        "ß",
        "1e400",
        "\u{0}",
    ];
    let transforms = [
        json!({"type": "trim"}),
        json!({"type": "lowercase"}),
        json!({"type": "uppercase"}),
        json!({"type": "splitName", "part": "first"}),
        json!({"type": "splitName", "part": "last"}),
        json!({"type": "date", "from": "%m/%d/%Y"}),
        json!({"type": "date", "from": "%Y", "to": "%d"}),
        json!({"type": "phone"}),
        json!({"type": "phone", "defaultCountryCode": "44"}),
    ];
    fn random_value(rng: &mut impl Rng, texts: &[&str], depth: u32) -> Value {
        match rng.random_range(0..if depth > 2 { 4 } else { 6 }) {
            0 => Value::Null,
            1 => json!(rng.random::<i64>()),
            2 => json!(texts[rng.random_range(0..texts.len())]),
            3 => json!(rng.random::<bool>()),
            4 => Value::Array(
                (0..rng.random_range(0..3))
                    .map(|_| random_value(rng, texts, depth + 1))
                    .collect(),
            ),
            _ => {
                let mut m = Map::new();
                for k in ["a", "b", "0", "~", "/"] {
                    if rng.random::<bool>() {
                        m.insert(k.into(), random_value(rng, texts, depth + 1));
                    }
                }
                Value::Object(m)
            }
        }
    }
    for _ in 0..3000 {
        let body = random_value(&mut rng, &texts, 0);
        let chain: Vec<Value> = (0..rng.random_range(0..3))
            .map(|_| transforms[rng.random_range(0..transforms.len())].clone())
            .collect();
        let ptr = pieces[rng.random_range(0..pieces.len())];
        let m = mapping(
            json!([{"field": "firstName", "value": {"pointer": ptr}, "transforms": chain},
                   {"field": "lastName", "value": {"join": {"pointers": [ptr, "/b"]}}}]),
            Some(json!({"pointer": ptr, "equals": "x"})),
        );
        let headers = Map::new();
        let msg = message(&body, &headers);
        let _ = m.takes(&msg);
        let _ = m.apply(&msg);
        let _ = masked_body(&body, &m.pointers(), &schema());
    }
}
