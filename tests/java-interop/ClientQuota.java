// Test fixture (not product code), run as a single-file program: `java -cp <classpath> ClientQuota.java
// <bootstrap> <client.id> <producer_byte_rate | remove>`. Sets (or removes) a broker quota on one client ID with
// Kafka's Admin API, as `kafka-configs --alter --entity-type clients --add-config producer_byte_rate=...` does,
// and waits until the broker reports it back.
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.quota.ClientQuotaFilterComponent;

public class ClientQuota {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, args[1]));
        Double rate = args[2].equals("remove") ? null : Double.valueOf(args[2]);
        try (Admin admin = Admin.create(props)) {
            ClientQuotaAlteration.Op op = new ClientQuotaAlteration.Op("producer_byte_rate", rate);
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity, List.of(op)))).all().get();
            ClientQuotaFilter filter =
                ClientQuotaFilter.containsOnly(List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, args[1])));
            for (int i = 0; i < 100; i++) {
                Map<String, Double> quotas = admin.describeClientQuotas(filter).entities().get().getOrDefault(entity, Map.of());
                if (rate == null ? quotas.isEmpty() : rate.equals(quotas.get("producer_byte_rate"))) {
                    System.out.println("ok");
                    return;
                }
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("the broker did not report the quota back");
    }
}
