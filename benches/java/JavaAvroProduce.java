// Java's KafkaProducer with Apache Avro for Java, in the Confluent framing (magic byte, schema ID, binary body:
// the bytes KafkaAvroSerializer writes), for the produce benchmark. Run as a single-file program:
//
//   java -cp <classpath> JavaAvroProduce.java <bootstrap> <topic> <schema-id> <schema-json> <records> <note-length> <rate> [batch.size]
//
// rate 0: as fast as the producer takes records; otherwise records per second, with each record's latency from
// send to acknowledgement. Prints one line: wall_ns cpu_ns errors p50_us p99_us (CPU of this JVM while sending).
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaAvroProduce {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int id = Integer.parseInt(args[2]);
        Schema schema = new Schema.Parser().parse(args[3]);
        int n = Integer.parseInt(args[4]);
        String note = "n".repeat(Integer.parseInt(args[5]));
        double rate = Double.parseDouble(args[6]);

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("acks", "all");
        props.put("enable.idempotence", "true");
        props.put("linger.ms", "5");
        if (args.length > 7) props.put("batch.size", args[7]); // else Java's default, 16384
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        AtomicLong errors = new AtomicLong();
        long[] latency = rate > 0 ? new long[n] : null;
        GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(schema);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.partitionsFor(topic); // metadata before the clock starts, as the Rust paths bind first
            BinaryEncoder encoder = null;
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            for (int i = 0; i < n; i++) {
                if (rate > 0) {
                    long due = t0 + (long) (i * 1e9 / rate);
                    long wait = due - System.nanoTime();
                    if (wait > 0) LockSupport.parkNanos(wait);
                }
                String user = String.format("user-%06d", i % 100_000);
                GenericRecord r = new GenericData.Record(schema);
                r.put("user", user);
                r.put("page", "/products/garden/watering-can-10l");
                r.put("referrer", "https://example.com/search?q=can");
                r.put("millis", 1_700_000_000_000L + i);
                r.put("x", i % 1920);
                r.put("y", i % 1080);
                r.put("session", "2f1c9a7e-51b2-4c1e");
                r.put("note", note);
                ByteArrayOutputStream out = new ByteArrayOutputStream(64 + note.length());
                out.write(0);
                out.write(new byte[] {(byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
                encoder = EncoderFactory.get().binaryEncoder(out, encoder);
                writer.write(r, encoder);
                encoder.flush();
                final long start = System.nanoTime();
                final int index = i;
                producer.send(new ProducerRecord<>(topic, user.getBytes(StandardCharsets.UTF_8), out.toByteArray()),
                    (m, e) -> {
                        if (e != null) errors.incrementAndGet();
                        else if (latency != null) latency[index] = System.nanoTime() - start;
                    });
            }
            producer.flush();
            long wall = System.nanoTime() - t0, cpu = os.getProcessCpuTime() - c0;
            long p50 = 0, p99 = 0;
            if (latency != null) {
                Arrays.sort(latency);
                p50 = latency[n / 2] / 1000;
                p99 = latency[(int) (n * 0.99)] / 1000;
            }
            System.out.println(wall + " " + cpu + " " + errors.get() + " " + p50 + " " + p99);
        }
    }
}
