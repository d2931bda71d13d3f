En el principio crió Dios los cielos y la tierra.
Y sacólo Jehová del huerto de Edén, para que labrase la tierra de que fué tomado.
Una ventana harás al arca, y la acabarás á un codo de elevación por la parte de arriba: y pondrás la puerta del arca á su lado; y le harás piso bajo, segundo y tercero.
Entonces Sem y Japhet tomaron la ropa, y la pusieron sobre sus propios hombros, y andando hacia atrás, cubrieron la desnudez de su padre, teniendo vueltos sus rostros, y así no vieron la desnudez de su padre.
Y apareció Jehová á Abram, y le dijo: A tu simiente daré esta tierra. Y edificó allí un altar á Jehová, que le había aparecido.
En aquel día hizo Jehová un pacto con Abram diciendo: A tu simiente daré esta tierra desde el río de Egipto hasta el río grande, el río Eufrates;
Y volvió á decir: No se enoje ahora mi Señor, si hablare solamente una vez: quizá se hallarán allí diez. No la destruiré, respondió, por amor de los diez.
Y habitó en el desierto de Parán; y su madre le tomó mujer de la tierra de Egipto.
Y cuando acabó de darle á beber, dijo: También para tus camellos sacaré agua, hasta que acaben de beber.
Y crecieron los niños, y Esaú fué diestro en la caza, hombre del campo: Jacob empero era varón quieto, que habitaba en tiendas.
Entonces Isaac su padre le dijo: ¿Quién eres tú? Y él dijo: Yo soy tu hijo, tu primogénito, Esaú.
Y ella dijo: He aquí mi sierva Bilha; entra á ella, y parirá sobre mis rodillas, y yo también tendré hijos de ella.
Y ella dijo á su padre: No se enoje mi señor, porque no me puedo levantar delante de ti; pues estoy con la costumbre de las mujeres. Y él buscó, pero no halló los ídolos.
Y habló Sichêm á Hamor su padre, diciendo: Tómame por mujer esta moza.
Estos, pues, son los hijos de Esaú, y sus duques: él es Edom.
El respondió: Yo te enviaré del ganado un cabrito de las cabras. Y ella dijo: Hasme de dar prenda hasta que lo envíes.
Las siete vacas hermosas siete años son; y las espigas hermosas son siete años: el sueño es uno mismo.
Que si no nos hubiéramos detenido, cierto ahora hubiéramos ya vuelto dos veces.
Y tú manda: Haced esto: tomaos de la tierra de Egipto carros para vuestros niños y vuestras mujeres; y tomad á vuestro padre, y venid.
Y él dijo: Júramelo. Y él le juró. Entonces Israel se inclinó sobre la cabecera de la cama.
Y estuvo José en Egipto, él y la casa de su padre: y vivió José ciento diez años.
Sino que demandará cada mujer á su vecina y á su huéspeda vasos de plata, vasos de oro, y vestidos: los cuales pondréis sobre vuestros hijos y vuestras hijas; y despojaréis á Egipto.
Y los hijos de Cora: Assir, y Elcana, y Abiasaph: estas son las familias de los Coritas.
Entonces Jehová dijo á Moisés: Levántate de mañana, y ponte delante de Faraón, y dile: Jehová, el Dios de los Hebreos, dice así: Deja ir á mi pueblo, para que me sirva.
En el mes primero, el día catorce del mes por la tarde, comeréis los panes sin levadura, hasta el veintiuno del mes por la tarde.
Y extendió Moisés su mano sobre la mar, é hizo Jehová que la mar se retirase por recio viento oriental toda aquella noche; y tornó la mar en seco, y las aguas quedaron divididas.
Y altercó el pueblo con Moisés, y dijeron: Danos agua que bebamos. Y Moisés les dijo: ¿Por qué altercáis conmigo? ¿por qué tentáis á Jehová?
Seis días trabajarás, y harás toda tu obra;
Si tomares en prenda el vestido de tu prójimo, á puestas del sol se lo volverás:
Y pondrás la cubierta encima del arca, y en el arca pondrás el testimonio que yo te daré.
Y tú mandarás á los hijos de Israel que te traigan aceite puro de olivas, molido, para la luminaria, para hacer arder continuamente las lámparas.
Y sacrificarás el becerro de la expiación en cada día para las expiaciones; y purificarás el altar en habiendo hecho expiación por él, y lo ungirás para santificarlo.
¿Por qué han de hablar los Egipcios, diciendo: Para mal los sacó, para matarlos en los montes, y para raerlos de sobre la haz de la tierra? Vuélvete del furor de tu ira, y arrepiéntete del mal de tu pueblo.
Y llamólos Moisés; y Aarón y todos los príncipes de la congregación volvieron á él, y Moisés les habló.
Y sus cinco columnas con sus capiteles: y cubrió las cabezas de ellas y sus molduras de oro: pero sus cinco basas las hizo de metal.
Y fijaron los dos cabos de las dos trenzas en los dos engastes, que pusieron sobre las hombreras del ephod, en la parte delantera de él.
Y lo dividirá en sus piezas, con su cabeza y su redaño; y el sacerdote las acomodará sobre la leña que está sobre el fuego, que habrá encima del altar;
También la persona que jurare, pronunciando con sus labios hacer mal ó bien, en cualesquiera cosas que el hombre profiere con juramento, y él no lo conociere; si después lo entiende, será culpado en una de estas cosas.
Y daréis al sacerdote para ser elevada en ofrenda, la espaldilla derecha de los sacrificios de vuestras paces.
Y para enseñar á los hijos de Israel todos los estatutos que Jehová les ha dicho por medio de Moisés.
Y el sacerdote mirará, y si pareciere tumor blanco en la piel, el cual haya mudado el color del pelo, y se descubre asimismo la carne viva,
Y con su dedo derecho rociará el sacerdote del aceite que tiene en su mano izquierda, siete veces delante de Jehová.
Después degollará en expiación el macho cabrío, que era del pueblo, y meterá la sangre de él del velo adentro; y hará de su sangre como hizo de la sangre del becerro, y esparcirá sobre la cubierta y delante de la cubierta:
Y no juraréis en mi nombre con mentira, ni profanarás el nombre de tu Dios: Yo Jehová.
O el varón que hubiere tocado cualquier reptil, por el cual será inmundo, ú hombre por el cual venga á ser inmundo, conforme á cualquiera inmundicia suya;
Manda á los hijos de Israel que te traigan aceite de olivas claro, molido, para la luminaria, para hacer arder las lámparas de continuo.
Guardad mis sábados, y tened en reverencia mi santuario: Yo Jehová.
No mirará si es bueno ó malo, ni lo trocará: y si lo trocare, ello y su trueque serán cosas sagradas; no se redimirá.
Junto á él estará la tribu de Manasés; y el jefe de los hijos de Manasés, Gamaliel hijo de Pedasur;
Y lo pondrán con todos sus vasos en una cubierta de pieles de tejones, y lo colocarán sobre unas parihuelas.
Todo el tiempo que se apartare á Jehová, no entrará á persona muerta.
El octavo día, el príncipe de los hijos de Manasés, Gamaliel hijo de Pedasur:
Y el día que el tabernáculo fué levantado, la nube cubrió el tabernáculo sobre la tienda del testimonio; y á la tarde había sobre el tabernáculo como una apariencia de fuego, hasta la mañana.
Entonces el pueblo estuvo levantado todo aquel día, y toda la noche, y todo el día siguiente, y recogiéronse codornices: el que menos, recogió diez montones; y las tendieron para sí á lo largo en derredor del campo.
Será que cuando comenzareis á comer del pan de la tierra, ofreceréis ofrenda á Jehová.
Después se volvió Aarón á Moisés á la puerta del tabernáculo del testimonio, cuando la mortandad había cesado.
Toma la vara, y reune la congregación, tú y Aarón tu hermano, y hablad á la peña en ojos de ellos; y ella dará su agua, y les sacarás aguas de la peña, y darás de beber á la congregación, y á sus bestias.
Y el asna vió al ángel de Jehová, que estaba en el camino con su espada desnuda en su mano; y apartóse el asna del camino, é iba por el campo. Entonces hirió Balaam al asna para hacerla volver al camino.
Entonces Moisés dijo á los jueces de Israel: Matad cada uno á aquellos de los suyos que se han allegado á Baal-peor.
Mas Nadab y Abiú murieron, cuando ofrecieron fuego extraño delante de Jehová.
Y un macho cabrío por expiación: además del holocausto continuo, y su presente y su libación.
Los hombres del ejército habían pillado cada uno para sí.
Y partidos de Bene-jaacán, asentaron en el monte de Gidgad.
O bien, sin verlo, hizo caer sobre él alguna piedra, de que pudo morir, y muriere, y él no era su enemigo, ni procuraba su mal;
Pues Jehová tu Dios te ha bendecido en toda obra de tus manos: él sabe que andas por este gran desierto: estos cuarenta años Jehová tu Dios fué contigo; y ninguna cosa te ha faltado.
Figura de ningún animal que vaya arrastrando por la tierra, figura de pez alguno que haya en el agua debajo de la tierra:
No andaréis en pos de dioses ajenos, de los dioses de los pueblos que están en vuestros contornos:
También en Tabera, y en Massa, y en Kibroth-hataavah, enojasteis á Jehová.
Y os alegraréis delante de Jehová vuestro Dios, vosotros, y vuestros hijos, y vuestras hijas, y vuestros siervos, y vuestras siervas, y el Levita que estuviere en vuestras poblaciones: por cuanto no tiene parte ni heredad con vosotros.
Mas abrirás á él tu mano liberalmente, y en efecto le prestarás lo que basta, lo que hubiere menester.
Empero el profeta que presumiere hablar palabra en mi nombre, que yo no le haya mandado hablar, ó que hablare en nombre de dioses ajenos, el tal profeta morirá.
Hacerte has flecos en los cuatro cabos de tu manto con que te cubrieres.
La cortarás entonces la mano, no la perdonará tu ojo.
Dará Jehová por lluvia á tu tierra polvo y ceniza: de los cielos descenderán sobre ti hasta que perezcas.
Si hubieres sido arrojado hasta el cabo de los cielos, de allí te recogerá Jehová tu Dios, y de allá te tomará:
Dije: Echaríalos yo del mundo, haría cesar de entre los hombres la memoria de ellos,
Mira que te mando que te esfuerces y seas valiente: no temas ni desmayes, porque Jehová tu Dios será contigo en donde quiera que fueres.
Y Josué se hizo cuchillos afilados, y circuncidó á los hijos de Israel en el monte de los prepucios.
Y tomó como cinco mil hombres, y púsolos en emboscada entre Beth-el y Hai, á la parte occidental de la ciudad.
Y cuando el sol se iba á poner, mandó Josué que los quitasen de los maderos, y los echasen en la cueva donde se habían escondido: y pusieron grandes piedras á la boca de la cueva, hasta hoy.
Y Galaad, y los términos de Gessuri y de Maachâti, y todo el monte de Hermón, y toda la tierra de Basán hasta Salchâ:
Lachîs, y Boscath, y Eglón,
Y Sela, Eleph, Jebus, que es Jerusalem, Gibeath, y Chîriath; catorce ciudades con sus aldeas. Esta es la heredad de los hijos de Benjamín, conforme á sus familias.
Y á Jattir con sus ejidos, y á Estemoa con sus ejidos,
Un varón de vosotros perseguirá á mil: porque Jehová vuestro Dios pelea por vosotros, como él os dijo.
Y quiso el Amorrheo habitar en el monte de Heres, en Ajalón y en Saalbín; mas como la mano de la casa de José tomó fuerzas, hiciéronlos tributarios.
Oid, reyes; estad, oh príncipes, atentos: yo cantaré á Jehová, cantaré salmos á Jehová Dios de Israel.
Entonces Jehová dijo á Gedeón: Con estos trescientos hombres que lamieron el agua os salvaré, y entregaré á los Madianitas en tus manos: y váyase toda la gente cada uno á su lugar.
Envió Dios un espíritu malo entre Abimelech y los hombres de Sichêm: que los de Sichêm se levantaron contra Abimelech:
Así que, yo nada he pecado contra ti, mas tú haces mal conmigo haciéndome guerra: Jehová, que es el juez, juzgue hoy entre los hijos de Israel y los hijos de Ammón.
Entonces Samsón les dijo: ¿Así lo habíais de hacer? mas yo me vengaré de vosotros, y después cesaré.
Y subiendo los cinco hombres que habían ido á reconocer la tierra, entraron allá, y tomaron la imagen de talla, y el ephod, y el teraphim, y la imagen de fundición, mientras estaba el sacerdote á la entrada de la puerta con los seiscientos hombres armados de armas de guerra.
Y los hijos de Benjamín decían: Vencidos son delante de nosotros, como antes. Mas los hijos de Israel decían: Huiremos, y los alejaremos de la ciudad hasta los caminos.
Y ella dijo: Señor mío, halle yo gracia delante de tus ojos; porque me has consolado, y porque has hablado al corazón de tu sierva, no siendo yo como una de tus criadas.
Y Anna oró y dijo: mi corazón se regocija en Jehová, mi cuerno es ensalzado en Jehová; mi boca se ensanchó sobre mis enemigos, por cuanto me alegré en tu salud.
Y llamó al niño Ichâbod, diciendo: ¡Traspasada es la gloria de Israel! por el arca de Dios que fué tomada, y porque era muerto su suegro, y su marido.
Y cuando subían por la cuesta de la ciudad, hallaron unas mozas que salían por agua, á las cuales dijeron: ¿Está en este lugar el vidente?
Y Samuel clamó á Jehová; y Jehová dió truenos y aguas en aquel día; y todo el pueblo temió en gran manera á Jehová y á Samuel.
Y ocupando Saúl el reino sobre Israel, hizo guerra á todos sus enemigos alrededor: contra Moab, contra los hijos de Ammón, contra Edom, contra los reyes de Soba, y contra los Filisteos: y á donde quiera que se tornaba era vencedor.
Y añadió el Filisteo: Hoy yo he desafiado el campo de Israel; dadme un hombre que pelee conmigo.
Y dió aviso á David, diciendo: Saúl mi padre procura matarte; por tanto mira ahora por ti hasta la mañana, y estáte en paraje oculto, y escóndete:
Y el sacerdote respondió: La espada de Goliath el Filisteo, que tú venciste en el valle del Alcornoque, está aquí envuelta en un velo detrás del ephod: si tú quieres tomarla, tómala: porque aquí no hay otra sino esa. Y dijo David: Ninguna como ella: dámela.
No ponga ahora mi señor su corazón á aquel hombre brusco, á Nabal; porque conforme á su nombre, así es. El se llama Nabal, y la locura está con él: mas yo tu sierva no vi los criados de mi señor, los cuales tú enviaste.
Entonces la mujer vino á Saúl, y viéndole en grande manera turbado, díjole: He aquí que tu criada ha obedecido á tu voz, y he puesto mi vida en mi mano, y he oído las palabras que tú me has dicho.
Entonces llamó David uno de los mancebos, y díjole: Llega, y mátalo. Y él lo hirió, y murió.
Entonces dijo David á Joab, y á todo el pueblo que con él estaba: Romped vuestros vestidos, y ceñíos de sacos, y haced duelo delante de Abner. Y el rey iba detrás del féretro.
Y aconteció aquella noche, que fué palabra de Jehová á Nathán, diciendo:
Y envió David á preguntar por aquella mujer, y dijéronle: Aquella es Bath-sheba hija de Eliam, mujer de Uría Hetheo.
Y díjole su hermano Absalom: ¿Ha estado contigo tu hermano Amnón? Pues calla ahora, hermana mía: tu hermano es; no pongas tu corazón en este negocio. Y quedóse Thamar desconsolada en casa de Absalom su hermano.
¿Ayer viniste, y téngote de hacer hoy que mudes lugar para ir con nosotros? Yo voy como voy: tú vuélvete, y haz volver á tus hermanos; en ti haya misericordia y verdad.
Y allí cayó el pueblo de Israel delante de los siervos de David, é hízose allí en aquel día una gran matanza de veinte mil hombres;
Entonces salieron en pos de él los hombres de Joab, y los Ceretheos y Peletheos, y todos los valientes: salieron de Jerusalem para ir tras Seba hijo de Bichri.
El que hace mis pies como de ciervas, y el que me asienta en mis alturas;
Todo lo da como un rey Arauna al rey. Luego dijo Arauna al rey: Jehová tu Dios te sea propicio.
Y vino Bath-sheba al rey Salomón para hablarle por Adonía. Y el rey se levantó á recibirla, é inclinóse á ella, y volvió á sentarse en su trono, é hizo poner una silla á la madre del rey, la cual se sentó á su diestra.
Diez bueyes engordados, y veinte bueyes de pasto, y cien ovejas; sin los ciervos, cabras, búfalos, y aves engordadas.
Todas aquellas obras fueron de piedras de precio, cortadas y aserradas con sierras según las medidas, así por de dentro como por de fuera, desde el cimiento hasta los remates, y asimismo por de fuera hasta el gran atrio.
Cuando alguno hubiere pecado contra su prójimo, y le tomaren juramento haciéndole jurar, y viniere el juramento delante de tu altar en esta casa;
Y el rey Salomón dió á la reina de Seba todo lo que quiso, y todo lo que pidió, además de lo que Salomón le dió como de mano del rey Salomón. Y ella se volvió, y se fué á su tierra con sus criados.
Y cuando todo el pueblo vió que el rey no les había oído, respondióle estas palabras, diciendo: ¿Qué parte tenemos nosotros con David? No tenemos heredad en el hijo de Isaí. ¡Israel, á tus estancias! ¡Provee ahora en tu casa, David! Entonces Israel se fué á sus estancias.
Al quinto año del rey Roboam subió Sisac rey de Egipto contra Jerusalem.
Y beberás del arroyo; y yo he mandado á los cuervos que te den allí de comer.
Y tras el terremoto un fuego: mas Jehová no estaba en el fuego. Y tras el fuego un silbo apacible y delicado.
El que de Achâb fuere muerto en la ciudad, perros le comerán: y el que fuere muerto en el campo, comerlo han las aves del cielo.
Y aconteció que, yendo ellos hablando, he aquí, un carro de fuego con caballos de fuego apartó á los dos: y Elías subió al cielo en un torbellino.
Y así que ella entró, echóse á sus pies, é inclinóse á tierra: después tomó su hijo, y salióse.
Y como los leprosos llegaron á las primeras estancias, entráronse en una tienda, y comieron y bebieron, y tomaron de allí plata, y oro, y vestidos, y fueron, y escondiéronlo: y vueltos, entraron en otra tienda, y de allí también tomaron, y fueron, y escondieron.
Y el cuerpo de Jezabel fué cual estiércol sobre la faz de la tierra en la heredad de Jezreel; de manera que nadie pueda decir: Esta es Jezabel.
Por lo que tomó Joas rey de Judá todas las ofrendas que había dedicado Josaphat, y Joram y Ochôzías sus padres, reyes de Judá, y las que él había dedicado, y todo el oro que se halló en los tesoros de la casa de Jehová, y en la casa del rey, y enviólo á Hazael rey de Siria: y él se partió de Jerusalem.
Y vino Phul rey de Asiria á la tierra; y dió Manahem á Phul mil talentos de plata porque le ayudara á confirmarse en el reino.
Así temieron á Jehová aquellas gentes, y juntamente sirvieron á sus ídolos: y también sus hijos y sus nietos, según que hicieron sus padres, así hacen hasta hoy.
Y dijo Isaías: Tomad masa de higos. Y tomándola, pusieron sobre la llaga, y sanó.
Y volvióse Josías, y viendo los sepulcros que estaban allí en el monte, envió y sacó los huesos de los sepulcros, y quemólos sobre el altar para contaminarlo, conforme á la palabra de Jehová que había profetizado el varón de Dios, el cual había anunciado estos negocios.
Los hijos de Gomer: Askenaz, Riphath, y Thogorma.
Y el nombre de la mujer de Abisur fué Abihail, la cual le parió á Abán, y á Molib.
Y en Bethuel, y en Horma, y en Siclag,
Y su hermano Asaph, el cual estaba á su mano derecha: Asaph, hijo de Berachîas, hijo de Sima;
Beser, Hod, Samma, Silsa, Ithrán y Beera.
Y Mathathías, uno de los Levitas, primogénito de Sallum Coraita, tenía cargo de las cosas que se hacían en sartén.
Eliel de Mahaví, Jeribai y Josabia hijos de Elnaam, é Ithma Moabita;
Y juntó David á todo Israel en Jerusalem, para que pasasen el arca de Jehová á su lugar, el cual le había él preparado.
Y he sido contigo en todo cuanto has andado, y he talado á todos tus enemigos de delante de ti, y hete hecho grande nombre, como el nombre de los grandes que son en la tierra.
Y envió Jehová el ángel á Jerusalem para destruirla: pero estando él destruyendo, miró Jehová, y arrepintióse de aquel mal,
Los hijos de Merari: Mahali y Musi; hijo de Jaazia, Benno.
El sexto para el sexto mes era Hira hijo de Icces, de Tecoa; y en su división veinte y cuatro mil.
Y llamó Salomón á todo Israel, tribunos, centuriones, y jueces, y á todos los príncipes de todo Israel, cabezas de familias.
Y juntáronse al rey todos los varones de Israel, á la solemnidad del mes séptimo.
Mas si vosotros os volviereis, y dejareis mis estatutos y mis preceptos que os he propuesto, y fuereis y sirviereis á dioses ajenos, y los adorareis,
Y á Beth-sur, y á Sochô, y á Adullam,
Esforzaos empero vosotros, y no desfallezcan vuestras manos; que salario hay para vuestra obra.
Y como los capitanes de los carros vieron á Josaphat, dijeron: Este es el rey de Israel. Y cercáronlo para pelear; mas Josaphat clamó, y ayudólo Jehová, y apartólos Dios de él:
Y él anduvo en los consejos de ellos, y fué á la guerra con Joram hijo de Achâb, rey de Israel, contra Hazael rey de Siria, á Ramoth de Galaad, donde los Siros hirieron á Joram.
Y Joas rey de Israel prendió en Beth-semes á Amasías rey de Judá, hijo de Joas hijo de Joachâz, y llevólo á Jerusalem: y derribó el muro de Jerusalem desde la puerta de Ephraim hasta la puerta del ángulo, cuatrocientos codos.
Estos juntaron á sus hermanos, y santificáronse, y entraron, conforme al mandamiento del rey y las palabras de Jehová, para limpiar la casa de Jehová.
Así ha dicho Sennachêrib rey de los Asirios: ¿En quién confiáis vosotros para estar cercados en Jerusalem?
Y sus hechos, primeros y postreros, he aquí está escrito en el libro de los reyes de Israel y de Judá.
Los hijos de Hagab, los hijos de Samlai, los hijos de Hanán;
Entonces este Sesbassar vino, y puso los fundamentos de la casa de Dios que estaba en Jerusalem, y desde entonces hasta ahora se edifica, y aun no está acabada.
Ayunamos pues, y pedimos á nuestro Dios sobre esto, y él nos fué propicio.
Y dijéronme: El residuo, los que quedaron de la cautividad allí en la provincia, están en gran mal y afrenta, y el muro de Jerusalem derribado, y sus puertas quemadas á fuego.
Mas fué que desde aquel día la mitad de los mancebos trabajaba en la obra, y la otra mitad de ellos tenía lanzas y escudos, y arcos, y corazas; y los príncipes estaban tras toda la casa de Judá.
Los hijos de Harim, trescientos y veinte;
Y sustentástelos cuarenta años en el desierto; de ninguna cosa tuvieron necesidad: sus vestidos no se envejecieron, ni se hincharon sus pies.
Y el resto de Israel, de los sacerdotes, de los Levitas, en todas las ciudades de Judá, cada uno en su heredad.
Y todo Judá trajo el diezmo del grano, del vino y del aceite, á los almacenes.
Luego que supo Mardochêo todo lo que se había hecho, rasgó sus vestidos, y vistióse de saco y de ceniza, y fuése por medio de la ciudad clamando con grande y amargo clamor.
Y en Susán capital del reino, mataron y destruyeron los Judíos á quinientos hombres.
O ¿por qué no fuí escondido como aborto, como los pequeñitos que nunca vieron luz?
Mas fueron avergonzados por su esperanza; porque vinieron hasta ellas, y halláronse confusos.
Bien que yo fuese íntegro, no conozco mi alma: reprocharé mi vida.
El lleva despojados á los príncipes, y trastorna á los poderosos.
(Lo que los sabios nos contaron de sus padres, y no lo encubrieron;
No tendrá hijo ni nieto en su pueblo, ni quien le suceda en sus moradas.
Verán sus ojos su quebranto, y beberá de la ira del Todopoderoso.
En las tinieblas minan las casas, que de día para sí señalaron; no conocen la luz.
Al dar peso al viento, y poner las aguas por medida;
Si he visto que pereciera alguno sin vestido, y al menesteroso sin cobertura;
Escucha, Job, y óyeme; calla, y yo hablaré.
Los hombres todos la ven; mírala el hombre de lejos.
¿Hará concierto contigo para que lo tomes por siervo perpetuo?
De Jehová es la salud: sobre tu pueblo será tu bendición. (Selah.)
Levántate, oh Jehová; no se fortalezca el hombre; sean juzgadas las gentes delante de ti.
Nuestros pasos nos han cercado ahora: puestos tienen sus ojos para echarnos por tierra.
Al Músico principal: Salmo de David. Alegraráse el rey en tu fortaleza, oh Jehová; y en tu salud se gozará mucho.
Redime, oh Dios, á Israel de todas sus angustias.
Los esconderás en el secreto de tu rostro de las arrogancias del hombre: los pondrás en un tabernáculo á cubierto de contención de lenguas.
Porque no hablan paz; y contra los mansos de la tierra piensan palabras engañosas.
Porque á ti, oh Jehová, esperé yo: tú responderás, Jehová Dios mío.
Has vendido tu pueblo de balde, y no pujaste en sus precios.
(Porque la redención de su vida es de gran precio, y no se hará jamás;)
Al Músico principal: en Neginoth: Masquil de David. Escucha, oh Dios, mi oración, y no te escondas de mi súplica.
Al Músico principal: sobre Susan-Heduth: Michtam de David, para enseñar, cuando tuvo guerra contra Aram-Naharaim y contra Aram de Soba, y volvió Joab, é hirió de Edom en el valle de las Salinas doce mil. Oh Dios, tú nos has desechado, nos disipaste; te has airado: vuélvete á nosotros.
Entraré en tu casa con holocaustos: te pagaré mis votos,
Porque persiguieron al que tú heriste; y cuentan del dolor de los que tú llagaste.
Ciertamente los has puesto en deslizaderos; en asolamientos los harás caer.
En la mar fué tu camino, y tus sendas en las muchas aguas; y tus pisadas no fueron conocidas.
Derramaron su sangre como agua en los alrededores de Jerusalem; y no hubo quien los enterrase.
Bienaventurados los que habitan en tu casa: perpetuamente te alabarán. (Selah.)
Tuyo el brazo con valentía; fuerte es tu mano, ensalzada tu diestra.
Que brotan los impíos como la hierba, y florecen todos los que obran iniquidad, para ser destruídos para siempre.
Hase acordado de su misericordia y de su verdad para con la casa de Israel: todos los términos de la tierra han visto la salud de nuestro Dios.
El que hace á sus ángeles espíritus, sus ministros al fuego flameante.
Para que guardasen sus estatutos, y observasen sus leyes. Aleluya.
Suben á los cielos, descienden á los abismos: sus almas se derriten con el mal.
Redención ha enviado á su pueblo; para siempre ha ordenado su pacto: santo y terrible es su nombre.
Mejor es esperar en Jehová que esperar en príncipes.
Tu presencia supliqué de todo corazón: ten misericordia de mí según tu palabra.
Justo eres tú, oh Jehová, y rectos tus juicios.
Como Jerusalem tiene montes alrededor de ella, así Jehová alrededor de su pueblo desde ahora y para siempre.
Y dió la tierra de ellos en heredad, en heredad á Israel su pueblo.
Los cuales maquinan males en el corazón, cada día urden contiendas.
Saldrá su espíritu, tornaráse en su tierra: en aquel día perecerán sus pensamientos.
Por cuanto llamé, y no quisisteis; extendí mi mano, y no hubo quien escuchase;
Ten el consejo, no lo dejes; guárdalo, porque eso es tu vida.
Lígalos á tus dedos; escríbelos en la tabla de tu corazón.
Y no saben que allí están los muertos; que sus convidados están en los profundos de la sepultura.
El hombre será harto de bien del fruto de su boca: y la paga de las manos del hombre le será dada.
Los ojos de Jehová están en todo lugar, mirando á los malos y á los buenos.
El rebelde no busca sino mal; y mensajero cruel será contra él enviado.
Muchos hombres publican cada uno su liberalidad: mas hombre de verdad, ¿quién lo hallará?
No robes al pobre, porque es pobre, ni quebrantes en la puerta al afligido:
Así vendrá como caminante tu necesidad, y tu pobreza como hombre de escudo.
El sepulcro y la perdición nunca se hartan: así los ojos del hombre nunca están satisfechos.
El sepulcro, y la matriz estéril, la tierra no harta de aguas, y el fuego que jamás dice, Basta.
Alleguéme también plata y oro, y tesoro preciado de reyes y de provincias; híceme de cantores y cantoras, y los deleites de los hijos de los hombres, instrumentos músicos y de todas suertes.
Hay un mal que he visto debajo del cielo, y muy común entre los hombres:
Si el espíritu del príncipe se exaltare contra ti, no dejes tu lugar; porque la lenidad hará cesar grandes ofensas.
Halláronme los guardas que rondan la ciudad, y díjeles: ¿Habéis visto al que ama mi alma?
Si ella es muro, edificaremos sobre él un palacio de plata: y si fuere puerta, la guarneceremos con tablas de cedro.
Por tanto, pelará el Señor la mollera de las hijas de Sión, y Jehová descubrirá sus vergüenzas.
Y acontecerá que aquel día silbará Jehová á la mosca que está en el fin de los ríos de Egipto, y á la abeja que está en la tierra de Asiria.
Y levantará Jehová de los ejércitos azote contra él, cual la matanza de Madián en la peña de Oreb: y alzará su vara sobre la mar, según hizo por la vía de Egipto.
Este es el consejo que está acordado sobre toda la tierra; y ésta, la mano extendida sobre todas las gentes.
Y dijo Jehová: De la manera que anduvo mi siervo Isaías desnudo y descalzo tres años, señal y pronóstico sobre Egipto y sobre Etiopía;
Glorificad por esto á Jehová en los valles: en islas de la mar sea nombrado Jehová Dios de Israel.
El que ara para sembrar, ¿arará todo el día; romperá y quebrará los terrones de la tierra?
Y el corazón de los necios entenderá para saber, y la lengua de los tartamudos será desenvuelta para hablar claramente.
He aquí que confías en este bordón de caña frágil, en Egipto, sobre el cual si alguien se apoyare, entrarásele por la mano, y se la atravesará. Tal es Faraón rey de Egipto para con todos los que en él confían.
El que vive, el que vive, éste te confesará, como yo hoy: el padre hará notoria tu verdad á los hijos.
No se cansará, ni desmayará, hasta que ponga en la tierra juicio; y las islas esperarán su ley.
Que dice de Ciro: Es mi pastor, y cumplirá todo lo que yo quiero, en diciendo á Jerusalem, Serás edificada; y al templo: Serás fundado.
Ahora pues, dice Jehová, el que me formó desde el vientre por su siervo, para que convierta á él á Jacob. Bien que Israel no se juntará, con todo, estimado seré en los ojos de Jehová, y el Dios mío será mi fortaleza.
Angustiado él, y afligido, no abrió su boca: como cordero fué llevado al matadero; y como oveja delante de sus trasquiladores, enmudeció, y no abrió su boca.
¿No es antes el ayuno que yo escogí, desatar las ligaduras de impiedad, deshacer los haces de opresión, y dejar ir libres á los quebrantados, y que rompáis todo yugo?
Pisado he yo solo el lagar, y de los pueblos nadie fué conmigo: pisélos con mi ira, y hollélos con mi furor; y su sangre salpicó mis vestidos, y ensucié todas mis ropas.
Y saldrán, y verán los cadáveres de los hombres que se rebelaron contra mí: porque su gusano nunca morirá, ni su fuego se apagará; y serán abominables á toda carne.
Convertíos, hijos rebeldes, sanaré vuestras rebeliones. He aquí nosotros venimos á ti; porque tú eres Jehová nuestro Dios.
Por tanto estoy lleno de saña de Jehová, trabajado he por contenerme; derramaréla sobre los niños en la calle, y sobre la reunión de los jóvenes juntamente; porque el marido también será preso con la mujer, el viejo con el lleno de días.
¡Oh quién me diese en el desierto un mesón de caminantes, para que dejase mi pueblo, y de ellos me apartase! Porque todos ellos son adúlteros, congregación de prevaricadores.
Tú empero, oh Jehová, me conoces; vísteme, y probaste mi corazón para contigo: arráncalos como á ovejas para el degolladero, y señálalos para el día de la matanza.
Tus riquezas y tus tesoros daré á saco sin ningún precio, por todos tus pecados, y en todos tus términos;
Mas tú, oh Jehová, conoces todo su consejo contra mí para muerte; no perdones su maldad, ni borres su pecado de delante de tu rostro: y tropiecen delante de ti; haz así con ellos en el tiempo de tu furor.
¿Es este hombre Conías un ídolo vil quebrado? ¿es vaso con quien nadie se deleita? ¿Por qué fueron arrojados, él y su generación, y echados á tierra que no habían conocido?
Y á todos los reyes de Arabia, y á todos los reyes de pueblos mezclados que habitan en el desierto;
Entonces dijo el profeta Jeremías á Hananías profeta: Ahora oye, Hananías; Jehová no te envió, y tú has hecho confiar á este pueblo en mentira.
Porque después que me convertí, tuve arrepentimiento, y después que me conocí, herí el muslo: avergoncéme, y confundíme, porque llevé la afrenta de mis mocedades.
Voz de gozo y voz de alegría, voz de desposado y voz de desposada, voz de los que digan: Alabad á Jehová de los ejércitos, porque Jehová es bueno, porque para siempre es su misericordia; voz de los que traigan alabanza á la casa de Jehová. Porque tornaré á traer la cautividad de la tierra como al principio, ha dicho Jehová.
Y fué que, como Jehudí hubo leído tres ó cuatro planas, rasgólo con un cuchillo de escribanía, y echólo en el fuego que había en el brasero, hasta que todo el rollo se consumió sobre el fuego que en el brasero había.
Palabra que fué á Jeremías de Jehová, después que Nabuzaradán capitán de la guardia le envió desde Ramá, cuando le tomó estando atado con esposas entre toda la transmigración de Jerusalem y de Judá que iban cautivos á Babilonia.
Ahora pues, así ha dicho Jehová de los ejércitos, Dios de Israel: ¿Por qué hacéis tan grande mal contra vuestras almas, para ser talados varón y mujer, niño y mamante, de en medio de Judá, sin que os quede residuo alguno;
Compadeceos de él todos los que estáis alrededor suyo; y todos los que sabéis su nombre, decid: ¿Cómo se quebró la vara de fortaleza, el báculo de hermosura?
Ovejas perdidas fueron mi pueblo: sus pastores las hicieron errar, por los montes las descarriaron: anduvieron de monte en collado, olvidáronse de sus majadas.
Sobre Babilonia la violencia contra mí y mi carne, dirá la moradora de Sión; y mi sangre sobre los moradores de Caldea, dirá Jerusalem.
¿No os conmueve á cuantos pasáis por el camino? Mirad, y ved si hay dolor como mi dolor que me ha venido; porque Jehová me ha angustiado en el día de la ira de su furor.
Nosotros nos hemos rebelado, y fuimos desleales; tú no perdonaste.
Y debajo de sus alas, á sus cuatro lados, tenían manos de hombre; y sus rostros y sus alas por los cuatro lados.
Y tomarás otra vez de ellos, y los echarás en mitad del fuego, y en el fuego los quemarás: de allí saldrá el fuego en toda la casa de Israel.
Y he aquí que seis varones venían del camino de la puerta de arriba que está vuelta al aquilón, y cada uno traía en su mano su instrumento para destruir. Y entre ellos había un varón vestido de lienzos, el cual traía á su cintura una escribanía de escribano; y entrados, paráronse junto al altar de bronce.
Porque no habrá más alguna visión vana, ni habrá adivinación de lisonjeros en medio de la casa de Israel.
Y con todas tus abominaciones y tus fornicaciones no te has acordado de los días de tu mocedad, cuando estabas desnuda y descubierta, cuando estabas envuelta en tu sangre.
Al pobre y menesteroso oprimiere, cometiere robos, no tornare la prenda, ó alzare sus ojos á los ídolos, é hiciere abominación,
Y fué á mí palabra de Jehová, diciendo:
Vestidos de cárdeno, capitanes y príncipes, mancebos todos de codiciar, caballeros que andaban á caballo.
Porque así ha dicho el Señor Jehová: Por cuanto tú batiste tus manos, y pateaste, y te gozaste del alma en todo tu menosprecio sobre la tierra de Israel;
¿Hablarás delante de tu matador, diciendo: Yo soy Dios? Tú, hombre eres, y no Dios, en la mano de tu matador.
Yo lo entregaré en mano del fuerte de las gentes, que de cierto le manejará: por su impiedad lo he arrojado.
Coméis la leche, y os vestís de la lana: la gruesa degolláis, no apacentáis las ovejas.
Multiplicaré asimismo el fruto de los árboles, y el fruto de los campos, porque nunca más recibáis oprobio de hambre entre las gentes.
Y también el nombre de la ciudad será Hamonah: y limpiarán la tierra.
Y midió la casa, cien codos de largo: y el apartamiento, y el edificio, y sus paredes, de longitud de cien codos;
Mas los sacerdotes Levitas, hijos de Sadoc, que guardaron el ordenamiento de mi santuario, cuando los hijos de Israel se desviaron de mí, ellos serán allegados á mí para ministrarme, y delante de mí estarán para ofrecerme la grosura y la sangre, dice el Señor Jehová.
Y será que toda alma viviente que nadare por donde quiera que entraren estos dos arroyos, vivirá: y habrá muy muchos peces por haber entrado allá estas aguas, y recibirán sanidad; y vivirá todo lo que entrare en este arroyo.
Y publicóse el mandamiento, y los sabios eran llevados á la muerte; y buscaron á Daniel y á sus compañeros para matarlos.
Beltsasar, príncipe de los magos, ya que he entendido que hay en ti espíritu de los dioses santos, y que ningún misterio se te esconde, exprésame las visiones de mi sueño que he visto, y su declaración.
El rey, por tanto, se levantó muy de mañana, y fué apriesa al foso de los leones:
Y no obedecimos á la voz de Jehová nuestro Dios, para andar en sus leyes, las cuales puso él delante de nosotros por mano de sus siervos los profetas.
Y el rey hará á su voluntad; y se ensoberbecerá, y se engrandecerá sobre todo dios: y contra el Dios de los dioses hablará maravillas, y será prosperado, hasta que sea consumada la ira: porque hecha está determinación.
Ephraim es dado á ídolos; déjalo.
Han hablado palabras jurando en vano al hacer alianza: por tanto, el juicio florecerá como ajenjo en los surcos del campo.
Por eso pues ahora, dice Jehová, convertíos á mí con todo vuestro corazón, con ayuno y lloro y llanto.
¿Bramará el león en el monte sin hacer presa? ¿dará el leoncillo su bramido desde su morada, si no prendiere?
Y Jehová me tomó de tras el ganado, y díjome Jehová: Ve, y profetiza á mi pueblo Israel.
Y vió Dios lo que hicieron, que se convirtieron de su mal camino: y arrepintióse del mal que había dicho les había de hacer, y no lo hizo.
Y haré destruir tus esculturas y tus imágenes de en medio de ti, y nunca más te inclinarás á la obra de tus manos;
Etiopía era su fortaleza, y Egipto sin límite; Put y Libia fueron en tu ayuda.
Cercano está el día grande de Jehová, cercano y muy presuroso; voz amarga del día de Jehová; gritará allí el valiente.
Y trastornaré el trono de los reinos, y destruiré la fuerza del reino de las gentes; y trastornaré el carro, y los que en él suben; y vendrán abajo los caballos, y los que en ellos montan, cada cual por la espada de su hermano.
Y le hablarás, diciendo: Así ha hablado Jehová de los ejércitos, diciendo: He aquí el varón cuyo nombre es Pimpollo, el cual germinará de su lugar, y edificará el templo de Jehová:
Apacenté pues las ovejas de la matanza, es á saber, los pobres del rebaño. Y me tomé dos cayados; al uno puse por nombre Suavidad, y al otro Ataduras; y apacenté las ovejas.
Mas vosotros os habéis apartado del camino; habéis hecho tropezar á muchos en la ley; habéis corrompido el pacto de Leví, dice Jehová de los ejércitos.
Entonces fué cumplido lo que se había dicho por el profeta Jeremías, que dijo:
De cierto te digo, que no saldrás de allí, hasta que pagues el último cuadrante.
Así que, por sus frutos los conoceréis.
Y saliendo ellos, he aquí, le trajeron un hombre mudo, endemoniado.
Porque mi yugo es fácil, y ligera mi carga.
Y él dijo: No; porque cogiendo la cizaña, no arranquéis también con ella el trigo.
Y llamando á sí las gentes, les dijo: Oid, y entended:
Y Jesús le reprendió, y salió el demonio de él; y el mozo fué sano desde aquella hora.
Y les dijo: Id también vosotros á mi viña, y os daré lo que fuere justo. Y ellos fueron.
Mas ellos no se cuidaron, y se fueron, uno á su labranza, y otro á sus negocios;
¡Serpientes, generación de víboras! ¿cómo evitaréis el juicio del infierno?
Y llegando también el que había recibido dos talentos, dijo: Señor, dos talentos me entregaste; he aquí otros dos talentos he ganado sobre ellos.
Mas todo esto se hace, para que se cumplan las Escrituras de los profetas. Entonces todos los discípulos huyeron, dejándole.
Y estaban allí muchas mujeres mirando de lejos, las cuales habían seguido de Galilea á Jesús, sirviéndole:
Entonces le apercibió, y despidióle luego,
Entonces les dijo: El que tiene oídos para oir, oiga.
Y llegado el sábado, comenzó á enseñar en la sinagoga; y muchos oyéndole, estaban atónitos, diciendo: ¿De dónde tiene éste estas cosas? ¿Y qué sabiduría es ésta que le es dada, y tales maravillas que por sus manos son hechas?
Porque una mujer, cuya hija tenía un espíritu inmundo, luego que oyó de él, vino y se echó á sus pies.
Y luego el padre del muchacho dijo clamando: Creo, ayuda mi incredulidad.
Y Jesús le dijo: Ve, tu fe te ha salvado. Y luego cobró la vista, y seguía á Jesús en el camino.
Y Saliendo del templo, le dice uno de sus discípulos: Maestro, mira qué piedras, y qué edificios.
Y vuelto, los halló otra vez durmiendo, porque los ojos de ellos estaban cargados; y no sabían qué responderle.
Y cuando fué la tarde, porque era la preparación, es decir, la víspera del sábado,
Hizo valentía con su brazo: esparció los soberbios del pensamiento de su corazón.
Y aconteció, que tres días después le hallaron en el templo, sentado en medio de los doctores, oyéndoles y preguntándoles.
Y se maravillaban de su doctrina, porque su palabra era con potestad.
¡Ay de vosotros, los que estáis hartos! porque tendréis hambre. ¡Ay de vosotros, los que ahora reís! porque lamentaréis y lloraréis.
Y dijo á la mujer: Tu fe te ha salvado, ve en paz.
Y les dijo: ¿Y vosotros, quién decís que soy? Entonces respondiendo Simón Pedro, dijo: El Cristo de Dios.
Y aconteció, que descendió un sacerdote por aquel camino, y viéndole, se pasó de un lado.
Y él pensaba dentro de sí, diciendo: ¿Qué haré, porque no tengo donde juntar mis frutos?
He aquí, os es dejada vuestra casa desierta: y os digo que no me veréis, hasta que venga tiempo cuando digáis: Bendito el que viene en nombre del Señor.
Y yo os digo: Haceos amigos de las riquezas de maldad, para que cuando faltareis, os reciban en las moradas eternas.
Y preguntóle un príncipe, diciendo: Maestro bueno, ¿qué haré para poseer la vida eterna?
Y Aconteció un día, que enseñando él al pueblo en el templo, y anunciando el evangelio, llegáronse los príncipes de los sacerdotes y los escribas, con los ancianos;
Y díjoles una parábola: Mirad la higuera y todos los árboles:
Diciendo: ¿Eres tú el Cristo? dínoslo. Y les dijo: Si os lo dijere, no creeréis;
Entonces él les dijo: ¿Qué cosas? Y ellos le dijeron: De Jesús Nazareno, el cual fué varón profeta, poderoso en obra y en palabra delante de Dios y de todo el pueblo;
Era Andrés, hermano de Simón Pedro, uno de los dos que habían oído de Juan, y le habían seguido.
Respondió Jesús y díjole: Si conocieses el don de Dios, y quién es el que te dice: Dame de beber: tú pedirías de él, y él te daría agua viva.
Vosotros enviasteis á Juan, y él dió testimonio á la verdad.
Estas cosas dijo en la sinagoga, enseñando en Capernaum.
Entonces los Fariseos le dijeron: Tú de ti mismo das testimonio: tu testimonio no es verdadero.
Respondióles: Ya os lo he dicho, y no habéis atendido: ¿por qué lo queréis otra vez oir? ¿queréis también vosotros haceros sus discípulos?
Y muchos de los Judíos habían venido á Marta y á María, á consolarlas de su hermano.
Con todo eso, aun de los príncipes, muchos creyeron en él; mas por causa de los Fariseos no lo confesaban, por no ser echados de la sinagoga.
Y ahora os lo he dicho antes que se haga; para que cuando se hiciere, creáis.
Y ya no estoy en el mundo; mas éstos están en el mundo, y yo á ti vengo. Padre santo, á los que me has dado, guárdalos por tu nombre, para que sean una cosa, como también nosotros.
Respondió Pilato: Lo que he escrito, he escrito.
Este es aquel discípulo que da testimonio de estas cosas, y escribió estas cosas: y sabemos que su testimonio es verdadero.
Este, como vió á Pedro y á Juan que iban á entrar en el templo, rogaba que le diesen limosna.
Tanto que echaban los enfermos por las calles, y los ponían en camas y en lechos, para que viniendo Pedro, á lo menos su sombra tocase á alguno de ellos.
Al cual nuestros padres no quisieron obedecer; antes le desecharon, y se apartaron de corazón á Egipto,
Y luego le cayeron de los ojos como escamas, y recibió al punto la vista: y levantándose, fué bautizado.
Estaba yo en la ciudad de Joppe orando, y vi en rapto de entendimiento una visión: un vaso, como un gran lienzo, que descendía, que por los cuatro cabos era abajado del cielo, y venía hasta mí.
Y habiendo cumplido todas las cosas que de él estaban escritas, quitándolo del madero, lo pusieron en el sepulcro.
Hombres que han expuesto sus vidas por el nombre de nuestro Señor Jesucristo.
(Entonces todos los Atenienses y los huéspedes extranjeros, en ninguna otra cosa entendían, sino ó en decir ó en oir alguna cosa nueva.)
Entonces el escribano, apaciguado que hubo la gente, dijo: Varones Efesios, ¿y quién hay de los hombres que no sepa que la ciudad de los Efesios es honradora de la gran diosa Diana, y de la imagen venida de Júpiter?
Entonces dijo Pablo: Yo de cierto soy hombre Judío, ciudadano de Tarso, ciudad no obscura de Cilicia: empero ruégote que me permitas que hable al pueblo.
Mandando á sus acusadores que viniesen á ti; del cual tú mismo juzgando, podrás entender todas estas cosas de que le acusamos.
Y Pablo dijo: ¡Pluguiese á Dios que por poco ó por mucho, no solamente tú, mas también todos los que hoy me oyen, fueseis hechos tales cual yo soy, excepto estas prisiones!
Pablo empero, quedó dos años enteros en su casa de alquiler, y recibía á todos los que á él venían,
Mas ahora, sin la ley, la justicia de Dios se ha manifestado, testificada por la ley y por los profetas:
Porque cuando fuisteis siervos del pecado, erais libres acerca de la justicia.
Y no sólo esto; mas también Rebeca concibiendo de uno, de Isaac nuestro padre,
Porque ¿quién entendió la mente del Señor? ¿ó quién fué su consejero?
Y de esta manera me esforcé á predicar el evangelio, no donde antes Cristo fuese nombrado, por no edificar sobre ajeno fundamento:
La que ninguno de los príncipes de este siglo conoció; porque si la hubieran conocido, nunca hubieran crucificado al Señor de gloria:
Así que, por cierto es ya una falta en vosotros que tengáis pleitos entre vosotros mismos. ¿Por qué no sufrís antes la injuria? ¿por qué no sufrís antes ser defraudados?
Si nosotros os sembramos lo espiritual, ¿es gran cosa si segáremos lo vuestro carnal?
De manera que, cualquiera que comiere este pan ó bebiere esta copa del Señor indignamente, será culpado del cuerpo y de la sangre del Señor.
De manera que, si toda la iglesia se juntare en uno, y todos hablan lenguas, y entran indoctos ó infieles, ¿no dirán que estáis locos?
Así que, hermanos míos amados, estad firmes y constantes, creciendo en la obra del Señor siempre, sabiendo que vuestro trabajo en el Señor no es vano.
Y no como Moisés, que ponía un velo sobre su faz, para que los hijos de Israel no pusiesen los ojos en el fin de lo que había de ser abolido.
Y sus entrañas son más abundantes para con vosotros, cuando se acuerda de la obediencia de todos vosotros, de cómo lo recibisteis con temor y temblor.
Pues que muchos se glorían según la carne, también yo me gloriaré.
Antes por el contrario, como vieron que el evangelio de la incircuncisión me era encargado, como á Pedro el de la circuncisión,
Estad, pues, firmes en la libertad con que Cristo nos hizo libres, y no volváis otra vez á ser presos en el yugo de servidumbre.
Porque por gracia sois salvos por la fe; y esto no de vosotros, pues es don de Dios:
Porque torpe cosa es aun hablar de lo que ellos hacen en oculto.
Porque á vosotros es concedido por Cristo, no sólo que creáis en él, sino también que padezcáis por él,
A causa de la esperanza que os está guardada en los cielos, de la cual habéis oído ya por la palabra verdadera del evangelio:
Orando también juntamente por nosotros, que el Señor nos abra la puerta de la palabra, para hablar el misterio de Cristo, por el cual aun estoy preso,
Por tanto, consolaos los unos á los otros en estas palabras.
Como te rogué que te quedases en Efeso, cuando partí para Macedonia, para que requirieses á algunos que no enseñen diversa doctrina,
Pero viudas más jóvenes no admitas: porque después de hacerse licenciosas contra Cristo, quieren casarse.
Huye también los deseos juveniles; y sigue la justicia, la fe, la caridad, la paz, con los que invocan al Señor de puro corazón.
Esto habla y exhorta, y reprende con toda autoridad. Nadie te desprecie.
Por tanto, hermanos santos, participantes de la vocación celestial, considerad al Apóstol y Pontífice de nuestra profesión, Cristo Jesús;
Y, por decirlo así, en Abraham fué diezmado también Leví, que recibe los diezmos;
Y atestíguanos lo mismo el Espíritu Santo; que después que dijo:
Por lo cual alzad las manos caídas y las rodillas paralizadas;
¿No blasfeman ellos el buen nombre que fué invocado sobre vosotros?
Elegidos según la presciencia de Dios Padre en santificación del Espíritu, para obedecer y ser rociados con la sangre de Jesucristo: Gracia y paz os sea multiplicada.
Porque por esto también ha sido predicado el evangelio á los muertos; para que sean juzgados en carne según los hombres, y vivan en espíritu según Dios.
Y diciendo: ¿Dónde está la promesa de su advenimiento? porque desde el día en que los padres durmieron, todas las cosas permanecen así como desde el principio de la creación.
Y éste es su mandamiento: Que creamos en el nombre de su Hijo Jesucristo, y nos amemos unos á otros como nos lo ha mandado.
Amados, por la gran solicitud que tenía de escribiros de la común salud, me ha sido necesario escribiros amonestándoos que contendáis eficazmente por la fe que ha sido una vez dada á los santos.
Mas tienes unas pocas personas en Sardis que no han ensuciado sus vestiduras: y andarán conmigo en vestiduras blancas; porque son dignos.
