// Producer oracle (not product code), run as a single-file program: `java -cp <classpath> JavaProduce.java
// <bootstrap> <topic> <keys.txt>`. Sends one record per line of hex key bytes with Java's KafkaProducer (default
// partitioner, acks=all) and prints the partition each landed on.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaProduce {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("acks", "all");
        StringBuilder out = new StringBuilder();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (String line : Files.readAllLines(Path.of(args[2]))) {
                byte[] key = HexFormat.of().parseHex(line.trim());
                RecordMetadata m = producer.send(new ProducerRecord<>(args[1], key, "java".getBytes())).get();
                out.append(m.partition()).append('\n');
            }
        }
        System.out.print(out);
    }
}
