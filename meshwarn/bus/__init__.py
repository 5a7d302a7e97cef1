"""Message buses behind one interface (:mod:`meshwarn.bus.base`): embedded now, NATS JetStream later."""
