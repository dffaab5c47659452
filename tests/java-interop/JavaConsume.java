// Consumer oracle (not product code), run as a single-file program: `java -cp <classpath> JavaConsume.java
// <bootstrap> <topic> <isolation.level> <expected> <timeout-seconds> <value-schema.avsc>`. Reads every partition of
// the topic from the beginning with Java's KafkaConsumer at the given isolation level until <expected> records
// arrived or the timeout passed, decodes each Confluent-framed Avro value with Apache Avro's generic reader, and
// prints one line per record: partition, offset, key (UTF-8), schema ID, and the value as Avro's JSON.
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class JavaConsume {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("isolation.level", args[2]);
        props.put("enable.auto.commit", "false");
        props.put("auto.offset.reset", "earliest");
        long expected = Long.parseLong(args[3]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[4]) * 1000;
        Schema schema = new Schema.Parser().parse(Files.readString(Path.of(args[5])));
        GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
        StringBuilder out = new StringBuilder();
        long read = 0;
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(args[1])) {
                partitions.add(new TopicPartition(args[1], p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (read < expected && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    ByteBuffer value = ByteBuffer.wrap(r.value());
                    if (value.get() != 0) {
                        throw new IllegalStateException("not Confluent-framed at " + r.partition() + "/" + r.offset());
                    }
                    int id = value.getInt();
                    byte[] body = new byte[value.remaining()];
                    value.get(body);
                    GenericRecord record = reader.read(null, DecoderFactory.get().binaryDecoder(body, null));
                    String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
                    out.append(r.partition()).append('\t').append(r.offset()).append('\t').append(key).append('\t')
                            .append(id).append('\t').append(record).append('\n');
                    read++;
                }
            }
        }
        System.out.print(out);
    }
}
