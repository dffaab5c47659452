// Java's transactional KafkaProducer with Apache Avro for Java, in the Confluent framing (the bytes
// KafkaAvroSerializer writes), for the transactions benchmark. Run as a single-file program:
//
//   java -cp <classpath> JavaAvroTxnProduce.java <bootstrap> <topic> <schema-id> <schema-json> <records> <per-txn> <transactional.id> [batch.size]
//
// initTransactions before the clock starts; then transactions of <per-txn> records, each committed
// (commitTransaction flushes first). <per-txn> 0: no transactions (no transactional.id), flushed at the end.
// Prints one line: wall_ns cpu_ns errors (CPU of this JVM while sending).
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaAvroTxnProduce {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int id = Integer.parseInt(args[2]);
        Schema schema = new Schema.Parser().parse(args[3]);
        int n = Integer.parseInt(args[4]);
        int perTxn = Integer.parseInt(args[5]);

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("acks", "all");
        props.put("enable.idempotence", "true");
        props.put("linger.ms", "5");
        if (perTxn > 0) props.put("transactional.id", args[6]);
        if (args.length > 7) props.put("batch.size", args[7]); // else Java's default, 16384
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        AtomicLong errors = new AtomicLong();
        GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(schema);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            if (perTxn > 0) producer.initTransactions();
            producer.partitionsFor(topic); // metadata before the clock starts, as the Rust paths bind first
            BinaryEncoder encoder = null;
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            for (int i = 0; i < n; i++) {
                if (perTxn > 0 && i % perTxn == 0) producer.beginTransaction();
                String user = String.format("user-%06d", i % 100_000);
                GenericRecord r = new GenericData.Record(schema);
                r.put("user", user);
                r.put("page", "/products/garden/watering-can-10l");
                r.put("referrer", "https://example.com/search?q=can");
                r.put("millis", 1_700_000_000_000L + i);
                r.put("x", i % 1920);
                r.put("y", i % 1080);
                r.put("session", "2f1c9a7e-51b2-4c1e");
                r.put("note", "");
                ByteArrayOutputStream out = new ByteArrayOutputStream(64);
                out.write(0);
                out.write(new byte[] {(byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
                encoder = EncoderFactory.get().binaryEncoder(out, encoder);
                writer.write(r, encoder);
                encoder.flush();
                producer.send(new ProducerRecord<>(topic, user.getBytes(StandardCharsets.UTF_8), out.toByteArray()),
                    (m, e) -> {
                        if (e != null) errors.incrementAndGet();
                    });
                if (perTxn > 0 && (i % perTxn == perTxn - 1 || i == n - 1)) producer.commitTransaction();
            }
            producer.flush();
            long wall = System.nanoTime() - t0, cpu = os.getProcessCpuTime() - c0;
            System.out.println(wall + " " + cpu + " " + errors.get());
        }
    }
}
