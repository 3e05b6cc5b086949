/** Chinese text for demo rows: names with their pinyin (for e-mail addresses), places, products. */
export const SURNAMES: readonly (readonly [string, string])[] = [
  ['王', 'wang'], ['李', 'li'], ['张', 'zhang'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'],
  ['黄', 'huang'], ['赵', 'zhao'], ['吴', 'wu'], ['周', 'zhou'], ['徐', 'xu'], ['孙', 'sun'],
  ['马', 'ma'], ['朱', 'zhu'], ['胡', 'hu'], ['郭', 'guo'], ['何', 'he'], ['林', 'lin'],
];

export const GIVEN_NAMES: readonly (readonly [string, string])[] = [
  ['伟', 'wei'], ['芳', 'fang'], ['娜', 'na'], ['秀英', 'xiuying'], ['敏', 'min'], ['静', 'jing'],
  ['丽', 'li'], ['强', 'qiang'], ['磊', 'lei'], ['军', 'jun'], ['洋', 'yang'], ['勇', 'yong'],
  ['艳', 'yan'], ['杰', 'jie'], ['娟', 'juan'], ['涛', 'tao'], ['明', 'ming'], ['超', 'chao'],
  ['秀兰', 'xiulan'], ['霞', 'xia'], ['平', 'ping'], ['刚', 'gang'], ['桂英', 'guiying'], ['建华', 'jianhua'],
];

export const EMAIL_DOMAINS = ['qq.com', '163.com', '126.com', 'sina.com', 'foxmail.com', 'gmail.com'] as const;

export const CITIES: readonly { city: string; districts: readonly string[]; roads: readonly string[] }[] = [
  { city: '上海市', districts: ['浦东新区', '徐汇区', '静安区', '闵行区'], roads: ['张江路', '南京西路', '漕溪北路', '世纪大道'] },
  { city: '北京市', districts: ['朝阳区', '海淀区', '东城区', '丰台区'], roads: ['建国路', '中关村大街', '东长安街', '丰台北路'] },
  { city: '广州市', districts: ['天河区', '越秀区', '海珠区', '番禺区'], roads: ['天河路', '中山五路', '江南大道', '市桥路'] },
  { city: '杭州市', districts: ['西湖区', '滨江区', '余杭区', '拱墅区'], roads: ['文三路', '江南大道', '文一西路', '湖墅南路'] },
  { city: '深圳市', districts: ['南山区', '福田区', '宝安区', '龙岗区'], roads: ['科技园路', '深南大道', '宝安大道', '龙岗大道'] },
];

/** Product name parts per category code. */
export const PRODUCT_WORDS: Readonly<Record<string, readonly string[]>> = {
  A01: ['无线耳机', '智能手表', '移动电源', '蓝牙音箱', '机械键盘', '平板保护套'],
  A02: ['电饭煲', '空气炸锅', '电热水壶', '吸尘器', '加湿器', '破壁机'],
  B01: ['纯棉T恤', '羽绒服', '运动鞋', '牛仔裤', '羊毛围巾', '冲锋衣'],
  C01: ['龙井茶', '五常大米', '坚果礼盒', '手工月饼', '螺蛳粉', '腊肠'],
  D01: ['三体', '红楼梦', '活着', '围城', '平凡的世界', '白夜行'],
  X09: ['磁带随身听', 'MP3播放器'],
  Z99: ['寻呼机', '软盘'],
};

export const PRODUCT_ADJECTIVES = ['经典款', '升级版', '旗舰款', '家庭装', '限量版', '轻薄款', '礼盒装', '青春版'] as const;

export const WAREHOUSES = ['SH01', 'BJ02', 'GZ03', 'HZ04'] as const;
