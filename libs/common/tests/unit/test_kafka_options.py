"""The Kafka client's options from the settings, for a broker reached over TLS."""

from __future__ import annotations

import ssl

from aiokafka import AIOKafkaProducer

from jsp_common.settings import ServiceSettings


async def test_a_tls_broker_is_reached_with_the_system_cas_unless_a_ca_is_named():
    """A managed Kafka with a publicly trusted certificate needs no CA file (the client refused to be built
    without an SSL context); SASL over TLS as on the cluster."""
    s = ServiceSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                        kafka_sasl_username="registry", kafka_sasl_password="secret")
    options = s.kafka_client_options()
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() == ssl.create_default_context().get_ca_certs()
    AIOKafkaProducer(**options)  # built: the options are the client's
    assert "ssl_context" not in ServiceSettings().kafka_client_options()  # plaintext, locally
