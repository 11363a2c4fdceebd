/**
 * Starts the real servers the integration tests need, once per run, and stops them at
 * the end. Filled in by the etcd and Kafka stores; the codec and core need nothing.
 */
export default function setup(): () => void {
  return () => {};
}
